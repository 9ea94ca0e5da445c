// The formatter: a look-alike of Node's `util.inspect` and `console.log` argument
// formatting (strings, numbers, objects, arrays, errors, Map/Set, dates, typed arrays, circular
// references, depth 2, break length 80, array grouping, `%s %d %i %f %j %o %O %c %%`).
//
// It is evaluated once per engine instance in its own QuickJS context (the formatter realm) of the
// instance's runtime, and formats the values of each session's context (the user realm) when the
// host passes them in. Compiling it per session would cost milliseconds; sharing it is safe because
// no object of the formatter realm ever reaches user code: user code it triggers (getters, proxy
// traps, `toString`, inspect hooks) only ever receives primitives or its own objects, exceptions
// stop at the host, and the result is a primitive string.
//
// It also holds the other per-session helpers that would otherwise be compiled per session:
// `deepFreeze` (the `context` object), `describeThrown` (an uncaught error, as JSON text) and
// `serializeResult` (the run's result: `''` for undefined, `'J' + json`, or `'E' + reason`).
//
(function () {
  'use strict';
  var numberIsNaN = Number.isNaN;
  var getPrototypeOf = Object.getPrototypeOf;
  var getOwnPropertySymbols = Object.getOwnPropertySymbols;
  var getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  var objectKeys = Object.keys;
  var objectIs = Object.is;
  var freeze = Object.freeze;
  var isFrozen = Object.isFrozen;
  var hasOwn = Object.hasOwn;
  var apply = Reflect.apply;
  var jsonStringify = JSON.stringify;
  var isArray = Array.isArray;
  var arrayJoin = Array.prototype.join;
  var callOf = Function.prototype.call.bind.bind(Function.prototype.call);
  var charCodeAt = callOf(String.prototype.charCodeAt);
  var stringSlice = callOf(String.prototype.slice);
  var stringIncludes = callOf(String.prototype.includes);
  var stringRepeat = callOf(String.prototype.repeat);
  var stringStartsWith = callOf(String.prototype.startsWith);
  var stringPadStart = callOf(String.prototype.padStart);
  var stringPadEnd = callOf(String.prototype.padEnd);
  var stringSplit = callOf(String.prototype.split);
  var stringTrimEnd = callOf(String.prototype.trimEnd);
  var stringReplace = callOf(String.prototype.replace);
  var regExpTest = callOf(RegExp.prototype.test);
  var functionToString = callOf(Function.prototype.toString);
  var objectToString = callOf(Object.prototype.toString);
  var symbolToString = callOf(Symbol.prototype.toString);
  var numberValueOf = callOf(Number.prototype.valueOf);
  var stringValueOf = callOf(String.prototype.valueOf);
  var booleanValueOf = callOf(Boolean.prototype.valueOf);
  var dateGetTime = callOf(Date.prototype.getTime);
  var dateToISOString = callOf(Date.prototype.toISOString);
  var regExpToString = callOf(RegExp.prototype.toString);
  var mapSize = callOf(getOwnPropertyDescriptor(Map.prototype, 'size').get);
  var mapForEach = callOf(Map.prototype.forEach);
  var setSize = callOf(getOwnPropertyDescriptor(Set.prototype, 'size').get);
  var setForEach = callOf(Set.prototype.forEach);
  var arrayBufferByteLength = callOf(getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get);
  var TypedArrayPrototype = getPrototypeOf(Uint8Array.prototype);
  var typedArrayLength = callOf(getOwnPropertyDescriptor(TypedArrayPrototype, 'length').get);
  var isView = ArrayBuffer.isView;
  var Uint8ArrayConstructor = Uint8Array;
  var MapConstructor = Map;
  var mapGet = callOf(Map.prototype.get);
  var mapSet = callOf(Map.prototype.set);
  var mathMin = Math.min;
  var mathMax = Math.max;
  var mathSqrt = Math.sqrt;
  var mathRound = Math.round;
  var mathFloor = Math.floor;
  var numberToString = String;
  var parseIntFunction = parseInt;
  var parseFloatFunction = parseFloat;
  var NumberFunction = Number;
  var inspectCustom = Symbol.for('nodejs.util.inspect.custom');
  var toStringTagSymbol = Symbol.toStringTag;

  // ---------------------------------------------------------------------------------------------
  // Formatting: a look-alike of Node's util.inspect (strings, numbers, objects, arrays, errors,
  // Map/Set, dates, circular references, depth 2, break length 80, array grouping).
  var BREAK_LENGTH = 80;
  var MAX_ARRAY_LENGTH = 100;
  var MAX_STRING_LENGTH = 10000;
  var IDENTIFIER = /^[a-zA-Z_][a-zA-Z_0-9]*$/;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
  var NEEDS_ESCAPE = /[\x00-\x1f\x27\x5c\x7f]/;
  var ARRAY_ENTRIES = 1;
  var OBJECT_ENTRIES = 0;

  function quote(text) {
    var quoteCharacter = "'";
    if (stringIncludes(text, "'")) {
      if (!stringIncludes(text, '"')) quoteCharacter = '"';
      else if (!stringIncludes(text, '\x60') && !stringIncludes(text, '$' + '{')) quoteCharacter = '\x60';
    }
    var escapeAll = quoteCharacter === "'";
    if (!regExpTest(NEEDS_ESCAPE, text) && !(stringIncludes(text, quoteCharacter) && !escapeAll)) {
      return quoteCharacter + text + quoteCharacter;
    }
    var result = '';
    var last = 0;
    for (var index = 0; index < text.length; index++) {
      var unit = charCodeAt(text, index);
      var replacement;
      if (unit === 0x27 && quoteCharacter === "'") replacement = "\\'";
      else if (unit === 0x5c) replacement = '\\\\';
      else if (unit === 0x0a) replacement = '\\n';
      else if (unit === 0x09) replacement = '\\t';
      else if (unit === 0x0d) replacement = '\\r';
      else if (unit === 0x08) replacement = '\\b';
      else if (unit === 0x0c) replacement = '\\f';
      else if (unit < 0x20 || unit === 0x7f)
        replacement = '\\x' + stringPadStart(unit.toString(16).toUpperCase(), 2, '0');
      else continue;
      result += stringSlice(text, last, index) + replacement;
      last = index + 1;
    }
    return quoteCharacter + result + stringSlice(text, last) + quoteCharacter;
  }

  function formatString(text) {
    if (text.length > MAX_STRING_LENGTH) {
      var remaining = text.length - MAX_STRING_LENGTH;
      return (
        quote(stringSlice(text, 0, MAX_STRING_LENGTH)) +
        '... ' +
        remaining +
        ' more character' +
        (remaining > 1 ? 's' : '')
      );
    }
    return quote(text);
  }

  function formatNumber(value) {
    return objectIs(value, -0) ? '-0' : numberToString(value);
  }

  function formatPrimitive(value) {
    switch (typeof value) {
      case 'string':
        return formatString(value);
      case 'number':
        return formatNumber(value);
      case 'bigint':
        return numberToString(value) + 'n';
      case 'boolean':
        return value ? 'true' : 'false';
      case 'undefined':
        return 'undefined';
      case 'symbol':
        return symbolToString(value);
      default:
        return numberToString(value);
    }
  }

  function formatKey(key) {
    if (typeof key === 'symbol') return '[' + symbolToString(key) + ']';
    return regExpTest(IDENTIFIER, key) ? key : quote(key);
  }

  function constructorNameOf(object) {
    var current = object;
    for (var depth = 0; current !== null && depth < 1000; depth++) {
      var descriptor = getOwnPropertyDescriptor(current, 'constructor');
      if (descriptor !== undefined && typeof descriptor.value === 'function') {
        var name = descriptor.value.name;
        if (typeof name === 'string' && name !== '') return name;
      }
      current = getPrototypeOf(current);
    }
    return null;
  }

  function prefixOf(constructorName, tag, fallback, size) {
    if (constructorName === null) {
      if (tag !== '' && fallback !== tag) return '[' + fallback + size + ': null prototype] [' + tag + '] ';
      return '[' + fallback + size + ': null prototype] ';
    }
    if (tag !== '' && constructorName !== tag) return constructorName + size + ' [' + tag + '] ';
    return constructorName + size + ' ';
  }

  function brand(check, value) {
    try {
      check(value);
      return true;
    } catch {
      return false;
    }
  }

  function isError(value) {
    return objectToString(value) === '[object Error]';
  }

  function indent(text, level) {
    if (level === 0 || !stringIncludes(text, '\n')) return text;
    return apply(arrayJoin, stringSplit(text, '\n'), ['\n' + stringRepeat(' ', level)]);
  }

  // Drops the frames of the bridge and shifts user-code lines back by the two lines of the async
  // function wrapper, so that line numbers match the code as written.
  function cleanStack(stack) {
    var lines = stringSplit(stringTrimEnd(stack), '\n');
    var kept = [];
    for (var index = 0; index < lines.length; index++) {
      if (stringIncludes(lines[index], '(enclave:')) continue;
      kept[kept.length] = stringReplace(lines[index], /<input>:(\d+)/, function (_match, line) {
        return '<input>:' + mathMax(1, NumberFunction(line) - 2);
      });
    }
    return apply(arrayJoin, kept, ['\n']);
  }

  function formatError(error, context) {
    var name = error.name;
    var message = error.message;
    name = name === undefined || name === null ? 'Error' : numberToString(name);
    message = message === undefined || message === null ? '' : numberToString(message);
    var header = message === '' ? name : name + ': ' + message;
    var stack = typeof error.stack === 'string' ? cleanStack(error.stack) : '';
    var text;
    if (stack === '') text = '[' + header + ']';
    else if (stringStartsWith(stack, header)) text = stack;
    else text = header + '\n' + stack;
    return indent(text, context.indentation);
  }

  function functionBase(value, constructorName, tag) {
    var source = '';
    try {
      source = functionToString(value);
    } catch {}
    var name = value.name;
    name = typeof name === 'string' ? name : '';
    if (stringStartsWith(source, 'class') && source[source.length - 1] === '}') {
      var classBase = '[class ' + (name === '' ? '(anonymous)' : name);
      var parent = getPrototypeOf(value);
      if (
        parent !== null &&
        typeof parent === 'function' &&
        typeof parent.name === 'string' &&
        parent.name !== ''
      ) {
        classBase += ' extends ' + parent.name;
      }
      return classBase + ']';
    }
    var type = 'Function';
    if (
      constructorName === 'AsyncFunction' ||
      constructorName === 'GeneratorFunction' ||
      constructorName === 'AsyncGeneratorFunction'
    ) {
      type = constructorName;
    }
    var base = '[' + type;
    if (constructorName === null) base += ' (null prototype)';
    base += name === '' ? ' (anonymous)' : ': ' + name;
    base += ']';
    if (constructorName !== type && constructorName !== null && constructorName !== 'Function')
      base += ' ' + constructorName;
    if (tag !== '' && constructorName !== tag) base += ' [' + tag + ']';
    return base;
  }

  function ownEnumerableKeys(value, skipIndices) {
    var keys = objectKeys(value);
    var result = [];
    for (var index = 0; index < keys.length; index++) {
      var key = keys[index];
      if (skipIndices && regExpTest(/^(0|[1-9][0-9]*)$/, key)) continue;
      result[result.length] = key;
    }
    var symbols = getOwnPropertySymbols(value);
    for (var symbolIndex = 0; symbolIndex < symbols.length; symbolIndex++) {
      var descriptor = getOwnPropertyDescriptor(value, symbols[symbolIndex]);
      if (descriptor?.enumerable) result[result.length] = symbols[symbolIndex];
    }
    return result;
  }

  function formatProperty(context, value, recurseTimes, key, entriesType) {
    var descriptor = getOwnPropertyDescriptor(value, key);
    var text;
    if (descriptor === undefined) {
      text = formatValue(context, value[key], recurseTimes + 1, 2);
    } else if (descriptor.get === undefined && descriptor.set === undefined) {
      text = formatValue(context, descriptor.value, recurseTimes + 1, 2);
    } else if (descriptor.get !== undefined) {
      text = descriptor.set !== undefined ? '[Getter/Setter]' : '[Getter]';
    } else {
      text = descriptor.set !== undefined ? '[Setter]' : 'undefined';
    }
    if (entriesType === ARRAY_ENTRIES) return text;
    return formatKey(key) + ': ' + text;
  }

  function formatArrayEntries(context, value, recurseTimes) {
    var length = value.length;
    var output = [];
    var index = 0;
    for (; index < length && output.length < MAX_ARRAY_LENGTH; index++) {
      if (!hasOwn(value, index)) {
        var end = index;
        while (end < length && !hasOwn(value, end)) end++;
        var holes = end - index;
        output[output.length] = '<' + holes + ' empty item' + (holes > 1 ? 's' : '') + '>';
        index = end - 1;
        continue;
      }
      output[output.length] = formatProperty(context, value, recurseTimes, index, ARRAY_ENTRIES);
    }
    var remaining = length - index;
    if (remaining > 0) output[output.length] = '... ' + remaining + ' more item' + (remaining > 1 ? 's' : '');
    return output;
  }

  function formatTypedArrayEntries(_context, value, length) {
    var output = [];
    var shown = mathMin(length, MAX_ARRAY_LENGTH);
    for (var index = 0; index < shown; index++) output[index] = formatPrimitive(value[index]);
    if (length > shown)
      output[output.length] = '... ' + (length - shown) + ' more item' + (length - shown > 1 ? 's' : '');
    return output;
  }

  function formatArrayBufferContents(value, byteLength) {
    var bytes = new Uint8ArrayConstructor(value, 0, mathMin(byteLength, 50));
    var parts = [];
    for (var index = 0; index < bytes.length; index++)
      parts[index] = stringPadStart(bytes[index].toString(16), 2, '0');
    var text = '[Uint8Contents]: <' + apply(arrayJoin, parts, [' ']);
    if (byteLength > 50)
      text += ' ... ' + (byteLength - 50) + ' more byte' + (byteLength - 50 > 1 ? 's' : '');
    return text + '>';
  }

  // Groups many short array entries into aligned columns, as Node does for arrays of more than six.
  function groupArrayElements(context, output, value) {
    var entries = output.length;
    if (entries > MAX_ARRAY_LENGTH || (entries > 0 && stringStartsWith(output[entries - 1], '... ')))
      entries--;
    var lengths = [];
    var totalLength = 0;
    var maxLength = 0;
    for (var index = 0; index < entries; index++) {
      var length = output[index].length;
      lengths[index] = length;
      totalLength += length + 2;
      if (length > maxLength) maxLength = length;
    }
    var columnWidth = maxLength + 2;
    if (
      !(
        columnWidth * 3 + context.indentation < BREAK_LENGTH &&
        (totalLength / columnWidth > 5 || maxLength <= 6)
      )
    ) {
      return output;
    }
    var bias = mathSqrt(columnWidth - totalLength / output.length);
    var biasedWidth = mathMax(columnWidth - 3 - bias, 1);
    var columns = mathMin(
      mathRound(mathSqrt(2.5 * biasedWidth * entries) / biasedWidth),
      mathFloor((BREAK_LENGTH - context.indentation) / columnWidth),
      12,
      15,
    );
    if (columns <= 1) return output;
    var widths = [];
    for (var column = 0; column < columns; column++) {
      var widest = 0;
      for (var cell = column; cell < entries; cell += columns)
        if (lengths[cell] > widest) widest = lengths[cell];
      widths[column] = widest + 2;
    }
    var alignRight = value !== undefined;
    if (alignRight) {
      for (var check = 0; check < entries; check++) {
        var item = value[check];
        if (typeof item !== 'number' && typeof item !== 'bigint') {
          alignRight = false;
          break;
        }
      }
    }
    var rows = [];
    for (var start = 0; start < entries; start += columns) {
      var rowEnd = mathMin(start + columns, entries);
      var line = '';
      var position = start;
      for (; position < rowEnd - 1; position++) {
        var cellText = output[position] + ', ';
        line += alignRight
          ? stringPadStart(cellText, widths[position - start], ' ')
          : stringPadEnd(cellText, widths[position - start], ' ');
      }
      line += alignRight
        ? stringPadStart(output[position], widths[position - start] - 2, ' ')
        : output[position];
      rows[rows.length] = line;
    }
    if (entries < output.length) rows[rows.length] = output[entries];
    return rows;
  }

  function fitsOnOneLine(_context, output, start, base) {
    var totalLength = output.length + start;
    if (totalLength + output.length > BREAK_LENGTH) return false;
    for (var index = 0; index < output.length; index++) {
      totalLength += output[index].length;
      if (totalLength > BREAK_LENGTH) return false;
    }
    return base === '' || !stringIncludes(base, '\n');
  }

  function combine(context, output, base, open, close, entriesType, value) {
    var entries = output.length;
    if (entriesType === ARRAY_ENTRIES && entries > 6) output = groupArrayElements(context, output, value);
    if (entries === output.length) {
      var start = output.length + context.indentation + open.length + base.length + 10;
      if (fitsOnOneLine(context, output, start, base)) {
        var joined = apply(arrayJoin, output, [', ']);
        if (!stringIncludes(joined, '\n'))
          return (base === '' ? '' : base + ' ') + open + ' ' + joined + ' ' + close;
      }
    }
    var indentation = '\n' + stringRepeat(' ', context.indentation);
    return (
      (base === '' ? '' : base + ' ') +
      open +
      indentation +
      '  ' +
      apply(arrayJoin, output, [',' + indentation + '  ']) +
      indentation +
      close
    );
  }

  function formatValue(context, value, recurseTimes, extraIndentation) {
    if (typeof value !== 'object' && typeof value !== 'function') return formatPrimitive(value);
    if (value === null) return 'null';
    var custom = value[inspectCustom];
    if (typeof custom === 'function') {
      // Only a primitive crosses into user code: an object of this realm would hand it this realm's intrinsics.
      var replaced = apply(custom, value, [context.depth - recurseTimes]);
      if (replaced !== value) {
        return typeof replaced === 'string' ? replaced : formatValue(context, replaced, recurseTimes, 0);
      }
    }
    for (var index = 0; index < context.seen.length; index++) {
      if (context.seen[index] === value) {
        var reference = mapGet(context.circular, value);
        if (reference === undefined) {
          reference = context.circularCount + 1;
          context.circularCount = reference;
          mapSet(context.circular, value, reference);
        }
        return '[Circular *' + reference + ']';
      }
    }
    context.indentation += extraIndentation;
    try {
      return formatRaw(context, value, recurseTimes);
    } finally {
      context.indentation -= extraIndentation;
    }
  }

  function formatRaw(context, value, recurseTimes) {
    var constructorName = constructorNameOf(value);
    var tag = '';
    try {
      var rawTag = value[toStringTagSymbol];
      if (typeof rawTag === 'string' && rawTag !== '' && rawTag !== constructorName) tag = rawTag;
    } catch (_error) {}
    var base = '';
    var open = '{';
    var close = '}';
    var entriesType = OBJECT_ENTRIES;
    var keys;
    var entries = null;
    var sizeValue;
    if (isArray(value)) {
      keys = ownEnumerableKeys(value, true);
      var arrayPrefix =
        constructorName !== 'Array' || tag !== ''
          ? prefixOf(constructorName, tag, 'Array', '(' + value.length + ')')
          : '';
      open = arrayPrefix + '[';
      close = ']';
      entriesType = ARRAY_ENTRIES;
      if (value.length === 0 && keys.length === 0) return open + ']';
      if (recurseTimes > context.depth) return '[Array]';
      entries = 'array';
    } else if (typeof value === 'function') {
      keys = ownEnumerableKeys(value, false);
      base = functionBase(value, constructorName, tag);
      if (keys.length === 0) return base;
    } else if (brand(mapSize, value)) {
      keys = ownEnumerableKeys(value, false);
      sizeValue = mapSize(value);
      open = prefixOf(constructorName, tag, 'Map', '(' + sizeValue + ')') + '{';
      if (sizeValue === 0 && keys.length === 0) return open + '}';
      if (recurseTimes > context.depth) return '[Map]';
      entries = 'map';
    } else if (brand(setSize, value)) {
      keys = ownEnumerableKeys(value, false);
      sizeValue = setSize(value);
      open = prefixOf(constructorName, tag, 'Set', '(' + sizeValue + ')') + '{';
      if (sizeValue === 0 && keys.length === 0) return open + '}';
      if (recurseTimes > context.depth) return '[Set]';
      entries = 'set';
    } else if (isView(value) && brand(typedArrayLength, value)) {
      keys = ownEnumerableKeys(value, true);
      sizeValue = typedArrayLength(value);
      open = prefixOf(constructorName, tag, 'TypedArray', '(' + sizeValue + ')') + '[';
      close = ']';
      entriesType = ARRAY_ENTRIES;
      if (sizeValue === 0 && keys.length === 0) return open + ']';
      if (recurseTimes > context.depth) return '[' + (constructorName || 'TypedArray') + ']';
      entries = 'typed';
    } else if (brand(arrayBufferByteLength, value)) {
      keys = ownEnumerableKeys(value, false);
      sizeValue = arrayBufferByteLength(value);
      open = prefixOf(constructorName, tag, 'ArrayBuffer', '') + '{';
      if (recurseTimes > context.depth) return '[' + (constructorName || 'ArrayBuffer') + ']';
      entries = 'buffer';
    } else {
      keys = ownEnumerableKeys(value, false);
      if (isError(value)) {
        base = formatError(value, context);
        var filtered = [];
        for (var keyIndex = 0; keyIndex < keys.length; keyIndex++) {
          if (keys[keyIndex] !== 'stack' && keys[keyIndex] !== 'message')
            filtered[filtered.length] = keys[keyIndex];
        }
        keys = filtered;
        if (keys.length === 0) return base;
      } else if (brand(dateGetTime, value)) {
        var time = dateGetTime(value);
        base = numberIsNaN(time) ? 'Invalid Date' : dateToISOString(value);
        if (keys.length === 0) return base;
      } else if (objectToString(value) === '[object RegExp]' && brand(regExpToString, value)) {
        base = regExpToString(value);
        if (keys.length === 0) return base;
      } else if (brand(numberValueOf, value)) {
        base = '[Number: ' + formatNumber(numberValueOf(value)) + ']';
        if (keys.length === 0) return base;
      } else if (brand(stringValueOf, value)) {
        base = '[String: ' + quote(stringValueOf(value)) + ']';
        keys = ownEnumerableKeys(value, true);
        if (keys.length === 0) return base;
      } else if (brand(booleanValueOf, value)) {
        base = '[Boolean: ' + (booleanValueOf(value) ? 'true' : 'false') + ']';
        if (keys.length === 0) return base;
      } else {
        if (constructorName !== 'Object' || tag !== '')
          open = prefixOf(constructorName, tag, 'Object', '') + '{';
        if (keys.length === 0) return open + '}';
      }
      if (recurseTimes > context.depth) {
        return '[' + (constructorName === null ? 'Object: null prototype' : constructorName) + ']';
      }
    }
    context.seen[context.seen.length] = value;
    var output;
    try {
      if (entries === 'array') output = formatArrayEntries(context, value, recurseTimes);
      else if (entries === 'typed') output = formatTypedArrayEntries(context, value, sizeValue);
      else if (entries === 'buffer')
        output = [formatArrayBufferContents(value, sizeValue), 'byteLength: ' + sizeValue];
      else if (entries === 'map') {
        output = [];
        mapForEach(value, function (entryValue, entryKey) {
          output[output.length] =
            formatValue(context, entryKey, recurseTimes + 1, 2) +
            ' => ' +
            formatValue(context, entryValue, recurseTimes + 1, 2);
        });
      } else if (entries === 'set') {
        output = [];
        setForEach(value, function (entryValue) {
          output[output.length] = formatValue(context, entryValue, recurseTimes + 1, 2);
        });
      } else output = [];
      for (var index = 0; index < keys.length; index++) {
        output[output.length] = formatProperty(context, value, recurseTimes, keys[index], OBJECT_ENTRIES);
      }
    } finally {
      context.seen.length = context.seen.length - 1;
    }
    var reference = mapGet(context.circular, value);
    if (reference !== undefined)
      base = base === '' ? '<ref *' + reference + '>' : '<ref *' + reference + '> ' + base;
    return combine(
      context,
      output,
      base,
      open,
      close,
      entriesType,
      entries === 'array' || entries === 'typed' ? value : undefined,
    );
  }

  function inspect(value, options) {
    var depth = 2;
    if (options !== null && typeof options === 'object' && typeof options.depth === 'number')
      depth = options.depth;
    var context = {
      seen: [],
      circular: new MapConstructor(),
      circularCount: 0,
      indentation: 0,
      depth: depth,
    };
    return formatValue(context, value, 0, 0);
  }

  function formatDirective(directive, argument) {
    switch (directive) {
      case 115: // %s
        if (typeof argument === 'string') return argument;
        if (typeof argument === 'bigint') return numberToString(argument) + 'n';
        if (typeof argument === 'number') return formatNumber(argument);
        if (typeof argument === 'symbol') return symbolToString(argument);
        if (argument !== null && typeof argument === 'object') return inspect(argument, { depth: 0 });
        return numberToString(argument);
      case 106: // %j
        try {
          var json = jsonStringify(argument, passThrough);
          return json === undefined ? 'undefined' : json;
        } catch (_error) {
          return '[Circular]';
        }
      case 100: // %d
        if (typeof argument === 'bigint') return numberToString(argument) + 'n';
        if (typeof argument === 'symbol') return 'NaN';
        return formatNumber(NumberFunction(argument));
      case 105: // %i
        if (typeof argument === 'bigint') return numberToString(argument) + 'n';
        if (typeof argument === 'symbol') return 'NaN';
        return formatNumber(parseIntFunction(argument));
      case 102: // %f
        if (typeof argument === 'symbol') return 'NaN';
        return formatNumber(parseFloatFunction(argument));
      case 79: // %O
        return inspect(argument);
      case 111: // %o
        return inspect(argument, { depth: 4 });
      case 99: // %c
        return '';
      default:
        return undefined;
    }
  }

  function formatArguments(args) {
    var result = '';
    var next = 0;
    var first = args[0];
    if (typeof first === 'string' && args.length > 1 && stringIncludes(first, '%')) {
      next = 1;
      var last = 0;
      for (var index = 0; index < first.length - 1; index++) {
        if (charCodeAt(first, index) !== 37) continue;
        var directive = charCodeAt(first, index + 1);
        if (directive === 37) {
          result += stringSlice(first, last, index) + '%';
          last = index + 2;
          index++;
          continue;
        }
        if (next >= args.length) continue;
        var replacement = formatDirective(directive, args[next]);
        if (replacement === undefined) continue;
        result += stringSlice(first, last, index) + replacement;
        last = index + 2;
        index++;
        next++;
      }
      result += stringSlice(first, last);
      if (next < args.length) result += ' ';
    }
    for (var position = next; position < args.length; position++) {
      var argument = args[position];
      result += (position > next ? ' ' : '') + (typeof argument === 'string' ? argument : inspect(argument));
    }
    return result;
  }

  // ---------------------------------------------------------------------------------------------
  // Session helpers (they run on user-realm values and hand nothing of this realm back).
  function deepFreeze(root) {
    var pending = [root];
    while (pending.length > 0) {
      var current = pending[pending.length - 1];
      pending.length = pending.length - 1;
      if (current === null || typeof current !== 'object' || isFrozen(current)) continue;
      freeze(current);
      var keys = objectKeys(current);
      for (var index = 0; index < keys.length; index++) pending[pending.length] = current[keys[index]];
    }
  }

  // A property of a thrown value read as data only, own or inherited: a getter is never called.
  // (The host describes thrown values when the code has ended; a getter there could loop.) A
  // proxy's traps may still run, with the interrupt handler on.
  function dataProperty(object, key) {
    var current = object;
    for (var depth = 0; depth < 1000 && current !== null; depth++) {
      var descriptor = getOwnPropertyDescriptor(current, key);
      if (descriptor !== undefined) return hasOwn(descriptor, 'value') ? descriptor.value : undefined;
      current = getPrototypeOf(current);
    }
    return undefined;
  }

  function describeThrown(error) {
    var description = { name: 'Error', message: 'Uncaught exception' };
    try {
      if (error !== null && (typeof error === 'object' || typeof error === 'function')) {
        var name = dataProperty(error, 'name');
        var message = dataProperty(error, 'message');
        var code = dataProperty(error, 'code');
        var stack = dataProperty(error, 'stack');
        var line = dataProperty(error, 'lineNumber');
        description.name = typeof name === 'string' ? name : 'Error';
        description.message = typeof message === 'string' ? message : '';
        if (typeof code === 'string') description.code = code;
        if (typeof stack === 'string') description.stack = cleanStack(stack);
        if (typeof line === 'number') description.line = mathMax(1, line - 2);
        if (typeof message !== 'string' && typeof name !== 'string') {
          description.name = '';
          description.message = 'Uncaught ' + inspect(error);
        }
      } else {
        description.name = '';
        description.message = 'Uncaught ' + inspect(error);
      }
    } catch (_failure) {}
    return jsonStringify(description);
  }

  // Values are written with a replacer: the built-in then calls a function for every value, which
  // polls the interrupt handler (a sparse array of length 2 ** 32 - 1 would hold it in C).
  function passThrough(_key, value) {
    return value;
  }

  function serializeResult(value) {
    if (value === undefined) return '';
    var json;
    try {
      json = jsonStringify(value, passThrough);
    } catch (error) {
      var reason = 'unknown error';
      try {
        if (error !== null && typeof error === 'object' && typeof error.message === 'string')
          reason = error.message;
      } catch (_failure) {}
      return 'EThe result cannot be represented as JSON: ' + reason;
    }
    if (typeof json !== 'string') return 'EThe result (' + typeof value + ') cannot be represented as JSON';
    return 'J' + json;
  }

  return {
    formatArguments: formatArguments,
    inspect: inspect,
    deepFreeze: deepFreeze,
    describeThrown: describeThrown,
    serializeResult: serializeResult,
  };
})();
