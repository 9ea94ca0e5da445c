// The guards: evaluated once per engine instance in the shared realm, before the bridge factory
// is used and before the lockdown. It evaluates to `{ guardRealm, seedRandom, NativeProxy }`:
// - `guardRealm(global)` hardens one realm (the shared realm, then the session realm) before any
//   user code runs in it;
// - `seedRandom(a, b, c, d)` seeds the instance's `Math.random` (four 32-bit integers from the
//   host's cryptographic source, given by the bridge's `begin`);
// - `NativeProxy` is the shared realm's own `Proxy`, for the bridge's `tools` object.
//
// What it closes, and why (docs/security.md has the threat model):
//
// 1. Memory windows. `SharedArrayBuffer` and `Atomics` are removed: the bundled QuickJS lets a
//    growable shared buffer reach engine memory it never allocated. `ArrayBuffer.prototype.resize`,
//    `transfer` and `transferToFixedLength` are removed too, so no buffer ever changes its length or
//    is detached while a built-in works on it: that is the whole class of engine bugs where a
//    callback shrinks a buffer under a typed-array method (`TypedArray.prototype.with` reads freed
//    memory in the bundled build).
//
// 2. Built-ins that loop in C without polling the interrupt handler. QuickJS polls it when
//    bytecode runs and when a function is called, never inside a C loop, so a built-in that walks
//    2 ** 53 - 1 indexes of an array-like holds the thread however short the session's limits are.
//    Every such built-in is wrapped so that it either walks a length it has checked (at most
//    MAX_DIRECT elements, with no user code between the check and the built-in's own read of the
//    length), or walks a "pinned" proxy whose traps are JavaScript, so that each step of the C loop
//    calls a function and polls the handler. Nothing is refused: large inputs only get slower. The
//    wrapped families: the iterating `Array.prototype` methods (`concat`, `flat` and `flatMap` are
//    written here in JavaScript), `Array.from`, the typed-array constructors, `from`, `set`, `sort`,
//    `toSorted` and `join`, `JSON.stringify`, `String.raw`, the string searches (`indexOf`,
//    `lastIndexOf`, `includes`, `split`, `replace`, `replaceAll`: beyond MAX_SEARCH_WORK character
//    comparisons they search with the regular-expression engine, which polls), `RegExp.prototype`
//    `[Symbol.replace]` and `[Symbol.split]` (a user-defined `exec` may return an array-like of any
//    length), and the code compilers (`Function`, the async and generator function constructors and
//    `eval` refuse sources over MAX_SOURCE characters: QuickJS compiles about 6 MB/s without polling).
//    To tell a plain length from one a getter or a proxy trap could change between two reads, every
//    proxy the guest creates is recorded (the realms' `Proxy` constructors are wrapped).
//
// 3. Predictable randomness: `Math.random` is xoshiro128** seeded from the host for each session,
//    instead of QuickJS's generator seeded from the clock.
//
// The wrappers are created in the shared realm; each one's prototype is set to the guarded realm's
// `Function.prototype`, and errors they raise themselves are of the guarded realm, so user code
// sees ordinary functions and errors of its own realm. No unguarded built-in is ever handed to user
// code: the wrappers hold them in closures only.
(function () {
  'use strict';
  var numberIsNaN = Number.isNaN;
  var getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  var getPrototypeOf = Object.getPrototypeOf;
  var setPrototypeOf = Object.setPrototypeOf;
  var defineProperty = Object.defineProperty;
  var hasOwn = Object.hasOwn;
  var apply = Reflect.apply;
  var construct = Reflect.construct;
  var reflectGet = Reflect.get;
  var reflectSet = Reflect.set;
  var reflectHas = Reflect.has;
  var reflectDeleteProperty = Reflect.deleteProperty;
  var reflectDefineProperty = Reflect.defineProperty;
  var isArray = Array.isArray;
  var NativeProxy = Proxy;
  var callOf = Function.prototype.call.bind.bind(Function.prototype.call);
  var weakSetAdd = callOf(WeakSet.prototype.add);
  var weakSetHas = callOf(WeakSet.prototype.has);
  var stringReplace = callOf(String.prototype.replace);
  var stringStartsWith = callOf(String.prototype.startsWith);
  var stringSlice = callOf(String.prototype.slice);
  var stringIncludes = callOf(String.prototype.includes);
  var regExpExec = callOf(RegExp.prototype.exec);
  var SharedRegExp = RegExp;
  var mathFloor = Math.floor;
  var mathTrunc = Math.trunc;
  var mathMin = Math.min;
  var mathMax = Math.max;
  var imul = Math.imul;
  var symbolIterator = Symbol.iterator;
  var symbolIsConcatSpreadable = Symbol.isConcatSpreadable;
  var symbolReplace = Symbol.replace;
  var symbolSplit = Symbol.split;
  var symbolMatch = Symbol.match;
  var symbolSpecies = Symbol.species;
  var symbolToStringTag = Symbol.toStringTag;

  // Elements a C loop may walk without polling (each step costs 20 to 100 ns: about 0.1 s).
  var MAX_DIRECT = 1048576;
  // Character comparisons a string search may make in C (about 20 ms).
  var MAX_SEARCH_WORK = 16777216;
  // Characters of source code the compilers accept at run time (about 0.2 s of compiling).
  var MAX_SOURCE = 1048576;
  // A default sort of more elements than this compares in JavaScript (each comparison polls):
  // arrays compare as strings (slow in C), typed arrays as numbers.
  var SORT_IN_JS_ABOVE = 65536;
  var TYPED_SORT_IN_JS_ABOVE = 262144;
  var MAX_SAFE_INTEGER = 9007199254740991;
  var TYPED_ARRAY_NAMES = [
    'Int8Array',
    'Uint8Array',
    'Uint8ClampedArray',
    'Int16Array',
    'Uint16Array',
    'Int32Array',
    'Uint32Array',
    'Float16Array',
    'Float32Array',
    'Float64Array',
    'BigInt64Array',
    'BigUint64Array',
  ];

  // Every proxy the guest created, from any realm of the instance.
  var proxies = new WeakSet();
  var proxiesCreated = false;
  // What plainLookup returns when a getter or a proxy stands in the way.
  var NOT_PLAIN = {};
  // The pristine typed-array `length` getters of the guarded realms.
  var typedArrayLengthGetters = [];

  // ---------------------------------------------------------------------------------------------
  // Math.random: xoshiro128**, state seeded by the host for each session.
  var state0 = 1;
  var state1 = 0;
  var state2 = 0;
  var state3 = 0;

  function seedRandom(a, b, c, d) {
    state0 = a | 0;
    state1 = b | 0;
    state2 = c | 0;
    state3 = d | 0;
    if ((state0 | state1 | state2 | state3) === 0) state0 = 1;
  }

  function rotateLeft(value, bits) {
    return (value << bits) | (value >>> (32 - bits));
  }

  function next32() {
    var result = imul(rotateLeft(imul(state1, 5), 7), 9);
    var shifted = state1 << 9;
    state2 ^= state0;
    state3 ^= state1;
    state1 ^= state2;
    state0 ^= state3;
    state2 ^= shifted;
    state3 = rotateLeft(state3, 11);
    return result >>> 0;
  }

  // One function per realm (each gets its realm's prototype), one generator per instance.
  function createRandom() {
    return {
      random() {
        // 27 + 26 bits: every double of [0, 1) with 53 bits of precision.
        return ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / 9007199254740992;
      },
    }.random;
  }

  // ---------------------------------------------------------------------------------------------
  // Lengths that cannot change between two reads.

  function isObject(value) {
    return value !== null && (typeof value === 'object' || typeof value === 'function');
  }

  function isRecordedProxy(value) {
    return proxiesCreated && weakSetHas(proxies, value);
  }

  function toLength(number) {
    if (!(number > 0)) return 0;
    return mathMin(mathFloor(number), MAX_SAFE_INTEGER);
  }

  function toIntegerOrInfinity(value) {
    var number = +value;
    if (numberIsNaN(number)) return 0;
    return mathTrunc(number);
  }

  function toStringValue(value) {
    return typeof value === 'string' ? value : `${value}`;
  }

  // The value of `key` found along the prototype chain of `object` without running user code, or
  // NOT_PLAIN when a getter (other than a pristine typed-array length) or a proxy is in the way.
  function plainLookup(object, key) {
    var current = object;
    for (var depth = 0; depth < 10000 && current !== null; depth++) {
      if (isRecordedProxy(current)) return NOT_PLAIN;
      var descriptor = getOwnPropertyDescriptor(current, key);
      if (descriptor !== undefined) {
        if (hasOwn(descriptor, 'value')) return descriptor.value;
        var getter = descriptor.get;
        if (key === 'length') {
          for (var index = 0; index < typedArrayLengthGetters.length; index++) {
            if (getter === typedArrayLengthGetters[index]) {
              try {
                return callOf(getter)(object);
              } catch {
                return NOT_PLAIN;
              }
            }
          }
        }
        return NOT_PLAIN;
      }
      current = getPrototypeOf(current);
    }
    return current === null ? undefined : NOT_PLAIN;
  }

  // The length of an object as a built-in would read it, or -1 when reading it could run user code.
  function plainLength(object) {
    var value = plainLookup(object, 'length');
    if (value === NOT_PLAIN) return -1;
    var type = typeof value;
    if (type === 'number' || type === 'undefined' || type === 'boolean' || type === 'string')
      return toLength(+value);
    return -1;
  }

  // A proxy of `target` whose length (unless `length` is undefined) and one more key are fixed,
  // and whose every trap is a JavaScript function: a built-in walking it calls a function at each
  // step, which polls.
  function pin(target, length, extraKey, extraValue) {
    return new NativeProxy(target, {
      get: function (object, key) {
        if (key === 'length' && length !== undefined) return length;
        if (extraKey !== undefined && key === extraKey) return extraValue;
        return reflectGet(object, key, object);
      },
      has: function (object, key) {
        return reflectHas(object, key);
      },
      set: function (object, key, value) {
        return reflectSet(object, key, value, object);
      },
      deleteProperty: function (object, key) {
        return reflectDeleteProperty(object, key);
      },
      defineProperty: function (object, key, descriptor) {
        return reflectDefineProperty(object, key, descriptor);
      },
    });
  }

  // An array-like source (of `Array.from`, a typed-array constructor, `set`) that a built-in can walk
  // without holding the thread: itself when its length is plain and small, otherwise pinned.
  function safeArrayLike(realm, source) {
    var object = isObject(source) ? source : realm.toObject(source);
    var length = plainLength(object);
    if (length >= 0 && length <= MAX_DIRECT) return source;
    if (length < 0) length = toLength(+object.length);
    return pin(object, length);
  }

  // An iterable-or-array-like source: iterables are walked by calling `next` (which polls), so
  // only the array-like case needs care. The iterator method is read once and pinned when it could
  // change between two reads.
  function safeIterableOrArrayLike(realm, source) {
    if (source === null || source === undefined) return source;
    var object = isObject(source) ? source : realm.toObject(source);
    var method = plainLookup(object, symbolIterator);
    if (method === NOT_PLAIN) {
      method = object[symbolIterator];
      var length = method === undefined || method === null ? toLength(+object.length) : undefined;
      return pin(object, length, symbolIterator, method);
    }
    if (method !== undefined && method !== null) return source;
    return safeArrayLike(realm, source);
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers to install wrappers that look like the built-ins they replace.

  function install(holder, key, value, realm) {
    var descriptor = getOwnPropertyDescriptor(holder, key);
    if (typeof value === 'function' && realm !== undefined) setPrototypeOf(value, realm.FunctionPrototype);
    defineProperty(holder, key, {
      value: value,
      writable: descriptor === undefined ? true : descriptor.writable,
      enumerable: descriptor === undefined ? false : descriptor.enumerable,
      configurable: descriptor === undefined ? true : descriptor.configurable,
    });
  }

  function named(wrapper, native) {
    defineProperty(wrapper, 'name', { value: native.name, configurable: true });
    defineProperty(wrapper, 'length', { value: native.length, configurable: true });
    return wrapper;
  }

  // ---------------------------------------------------------------------------------------------
  // Array.prototype

  function isPlainArray(value) {
    return isArray(value) && !isRecordedProxy(value);
  }

  // Runs `native` on an array-like whose length is not both plain and small: on the receiver when
  // its length is plain and small, otherwise on a pinned proxy of it.
  function slowArrayCall(realm, native, receiver, args, returnsThis) {
    if (receiver === null || receiver === undefined) return apply(native, receiver, args);
    var object = isObject(receiver) ? receiver : realm.toObject(receiver);
    var length = plainLength(object);
    if (length >= 0 && length <= MAX_DIRECT) return apply(native, receiver, args);
    if (length < 0) length = toLength(+object.length);
    var pinned = pin(object, length);
    var result = apply(native, pinned, args);
    return returnsThis && result === pinned ? object : result;
  }

  function defaultCompare(left, right) {
    var leftText = toStringValue(left);
    var rightText = toStringValue(right);
    return leftText < rightText ? -1 : leftText > rightText ? 1 : 0;
  }

  // Wraps an Array.prototype method. `arity` fixed parameters are passed on as they are; methods
  // that tell a missing argument from `undefined` (or take any number) use `arguments` instead.
  function guardArrayMethod(realm, prototype, name, arity, returnsThis) {
    var native = prototype[name];
    if (typeof native !== 'function') return;
    var call = callOf(native);
    var wrapper;
    if (arity === 0) {
      wrapper = {
        m() {
          if (isPlainArray(this) && this.length <= MAX_DIRECT) return call(this);
          return slowArrayCall(realm, native, this, [], returnsThis);
        },
      }.m;
    } else if (arity === 1) {
      wrapper = {
        m(first) {
          if (isPlainArray(this) && this.length <= MAX_DIRECT) return call(this, first);
          return slowArrayCall(realm, native, this, [first], returnsThis);
        },
      }.m;
    } else if (arity === 2) {
      wrapper = {
        m(first, second) {
          if (isPlainArray(this) && this.length <= MAX_DIRECT) return call(this, first, second);
          return slowArrayCall(realm, native, this, [first, second], returnsThis);
        },
      }.m;
    } else if (arity === 3) {
      wrapper = {
        m(first, second, third) {
          if (isPlainArray(this) && this.length <= MAX_DIRECT) return call(this, first, second, third);
          return slowArrayCall(realm, native, this, [first, second, third], returnsThis);
        },
      }.m;
    } else {
      wrapper = {
        m() {
          if (isPlainArray(this) && this.length <= MAX_DIRECT) return apply(native, this, arguments);
          return slowArrayCall(realm, native, this, arguments, returnsThis);
        },
      }.m;
    }
    install(prototype, name, named(wrapper, native), realm);
  }

  // `sort` and `toSorted` without a comparator compare strings in C: above SORT_IN_JS_ABOVE
  // elements they get the same comparison written in JavaScript.
  function guardArraySort(realm, prototype, name, returnsThis) {
    var native = prototype[name];
    if (typeof native !== 'function') return;
    var call = callOf(native);
    var wrapper = {
      m(comparator) {
        var plain = isPlainArray(this);
        if (plain && this.length <= SORT_IN_JS_ABOVE) return call(this, comparator);
        if (comparator === undefined) comparator = defaultCompare;
        if (plain && this.length <= MAX_DIRECT) return call(this, comparator);
        return slowArrayCall(realm, native, this, [comparator], returnsThis);
      },
    }.m;
    install(prototype, name, named(wrapper, native), realm);
  }

  function createDataProperty(realm, target, key, value) {
    if (
      !reflectDefineProperty(target, key, {
        value: value,
        writable: true,
        enumerable: true,
        configurable: true,
      })
    )
      throw new realm.TypeError('Cannot define property ' + key);
  }

  // ArraySpeciesCreate(original, 0), done by the native `slice` on a pinned empty view of it.
  function arraySpeciesCreate(realm, original) {
    return apply(realm.nativeSlice, pin(original, 0), []);
  }

  function setLength(realm, target, length) {
    if (!reflectSet(target, 'length', length, target)) throw new realm.TypeError('Cannot set length');
  }

  function guardConcat(realm, prototype) {
    var native = prototype.concat;
    var wrapper = {
      // Written in JavaScript: the C version reads the lengths of later arguments after running
      // user code (getters of earlier elements), so no length can be checked in advance.
      concat() {
        if (this === null || this === undefined) return apply(native, this, []);
        var object = isObject(this) ? this : realm.toObject(this);
        var result = arraySpeciesCreate(realm, object);
        var count = 0;
        for (var itemIndex = -1; itemIndex < arguments.length; itemIndex++) {
          var item = itemIndex < 0 ? object : arguments[itemIndex];
          var spreadable = false;
          if (isObject(item)) {
            var flag = item[symbolIsConcatSpreadable];
            spreadable = flag !== undefined ? !!flag : isArray(item);
          }
          if (spreadable) {
            var length = toLength(+item.length);
            if (count + length > MAX_SAFE_INTEGER)
              throw new realm.TypeError('Array length exceeds the maximum');
            for (var index = 0; index < length; index++, count++) {
              if (reflectHas(item, index))
                createDataProperty(realm, result, count, reflectGet(item, index, item));
            }
          } else {
            if (count >= MAX_SAFE_INTEGER) throw new realm.TypeError('Array length exceeds the maximum');
            createDataProperty(realm, result, count, item);
            count++;
          }
        }
        setLength(realm, result, count);
        return result;
      },
    }.concat;
    install(prototype, 'concat', named(wrapper, native), realm);
  }

  function flattenInto(realm, target, source, sourceLength, start, depth, mapper, thisArgument) {
    var targetIndex = start;
    for (var sourceIndex = 0; sourceIndex < sourceLength; sourceIndex++) {
      if (!reflectHas(source, sourceIndex)) continue;
      var element = reflectGet(source, sourceIndex, source);
      if (mapper !== undefined) element = apply(mapper, thisArgument, [element, sourceIndex, source]);
      if (depth > 0 && isArray(element)) {
        targetIndex = flattenInto(realm, target, element, toLength(+element.length), targetIndex, depth - 1);
      } else {
        if (targetIndex >= MAX_SAFE_INTEGER) throw new realm.TypeError('Array length exceeds the maximum');
        createDataProperty(realm, target, targetIndex, element);
        targetIndex++;
      }
    }
    return targetIndex;
  }

  // `flat` and `flatMap` walk nested arrays in C whatever the receiver's length: written here.
  function guardFlat(realm, prototype) {
    var nativeFlat = prototype.flat;
    var nativeFlatMap = prototype.flatMap;
    if (typeof nativeFlat === 'function') {
      var flat = {
        flat(depth) {
          if (this === null || this === undefined) return apply(nativeFlat, this, []);
          var object = isObject(this) ? this : realm.toObject(this);
          var length = toLength(+object.length);
          var depthNumber = depth === undefined ? 1 : toIntegerOrInfinity(depth);
          if (depthNumber < 0) depthNumber = 0;
          var result = arraySpeciesCreate(realm, object);
          flattenInto(realm, result, object, length, 0, depthNumber);
          return result;
        },
      }.flat;
      install(prototype, 'flat', named(flat, nativeFlat), realm);
    }
    if (typeof nativeFlatMap === 'function') {
      var flatMap = {
        flatMap(mapper, thisArgument) {
          if (this === null || this === undefined) return apply(nativeFlatMap, this, [mapper]);
          var object = isObject(this) ? this : realm.toObject(this);
          var length = toLength(+object.length);
          if (typeof mapper !== 'function') throw new realm.TypeError('flatMap mapper is not a function');
          var result = arraySpeciesCreate(realm, object);
          flattenInto(realm, result, object, length, 0, 1, mapper, thisArgument);
          return result;
        },
      }.flatMap;
      install(prototype, 'flatMap', named(flatMap, nativeFlatMap), realm);
    }
  }

  function guardArrayFrom(realm, ArrayConstructor) {
    var native = ArrayConstructor.from;
    if (typeof native !== 'function') return;
    var wrapper = {
      from(items) {
        var args = [];
        for (var index = 0; index < arguments.length; index++) args[index] = arguments[index];
        args[0] = safeIterableOrArrayLike(realm, items);
        return apply(native, this, args);
      },
    }.from;
    install(ArrayConstructor, 'from', named(wrapper, native), realm);
  }

  function guardArrays(realm, global) {
    var prototype = global.Array.prototype;
    realm.nativeSlice = prototype.slice;
    var fixed = [
      ['copyWithin', 3, true],
      ['every', 2, false],
      ['fill', 3, true],
      ['filter', 2, false],
      ['find', 2, false],
      ['findIndex', 2, false],
      ['findLast', 2, false],
      ['findLastIndex', 2, false],
      ['forEach', 2, false],
      ['includes', 2, false],
      ['indexOf', 2, false],
      ['join', 1, false],
      ['lastIndexOf', -1, false],
      ['map', 2, false],
      ['reduce', -1, false],
      ['reduceRight', -1, false],
      ['reverse', 0, true],
      ['shift', 0, false],
      ['slice', 2, false],
      ['some', 2, false],
      ['splice', -1, false],
      ['toLocaleString', 2, false],
      ['toReversed', 0, false],
      ['toSpliced', -1, false],
      ['unshift', -1, false],
      ['with', 2, false],
    ];
    for (var index = 0; index < fixed.length; index++) {
      var entry = fixed[index];
      guardArrayMethod(realm, prototype, entry[0], entry[1], entry[2]);
    }
    guardArraySort(realm, prototype, 'sort', true);
    guardArraySort(realm, prototype, 'toSorted', false);
    guardConcat(realm, prototype);
    guardFlat(realm, prototype);
    guardArrayFrom(realm, global.Array);
  }

  // ---------------------------------------------------------------------------------------------
  // Typed arrays

  function numericCompare(left, right) {
    if (numberIsNaN(left)) return numberIsNaN(right) ? 0 : 1;
    if (numberIsNaN(right)) return -1;
    if (left < right) return -1;
    if (left > right) return 1;
    if (left === 0 && right === 0) {
      var leftNegative = 1 / left < 0;
      var rightNegative = 1 / right < 0;
      return leftNegative === rightNegative ? 0 : leftNegative ? -1 : 1;
    }
    return 0;
  }

  function guardTypedArrays(realm, global) {
    var Uint8 = global.Uint8Array;
    if (typeof Uint8 !== 'function') return;
    var TypedArray = getPrototypeOf(Uint8);
    var prototype = TypedArray.prototype;
    var lengthGetter = getOwnPropertyDescriptor(prototype, 'length').get;
    typedArrayLengthGetters[typedArrayLengthGetters.length] = lengthGetter;
    var typedLength = callOf(lengthGetter);
    var typedName = callOf(getOwnPropertyDescriptor(prototype, symbolToStringTag).get);
    var typedBuffer = callOf(getOwnPropertyDescriptor(prototype, 'buffer').get);
    var typedByteOffset = callOf(getOwnPropertyDescriptor(prototype, 'byteOffset').get);
    var arrayBufferByteLength = callOf(
      getOwnPropertyDescriptor(global.ArrayBuffer.prototype, 'byteLength').get,
    );
    var natives = {};

    function isArrayBuffer(value) {
      try {
        arrayBufferByteLength(value);
        return true;
      } catch {
        return false;
      }
    }

    function nameOf(value) {
      return isObject(value) ? typedName(value) : undefined;
    }

    // Constructors: an array-like argument is walked by C; iterables poll through `next`.
    for (var index = 0; index < TYPED_ARRAY_NAMES.length; index++) {
      var name = TYPED_ARRAY_NAMES[index];
      var Native = global[name];
      if (typeof Native !== 'function') continue;
      natives[name] = Native;
      wrapTypedArrayConstructor(realm, global, name, Native, nameOf, isArrayBuffer);
    }

    var nativeFrom = TypedArray.from;
    install(
      TypedArray,
      'from',
      named(
        {
          from(source) {
            var args = [];
            for (var argument = 0; argument < arguments.length; argument++)
              args[argument] = arguments[argument];
            args[0] = safeIterableOrArrayLike(realm, source);
            return apply(nativeFrom, this, args);
          },
        }.from,
        nativeFrom,
      ),
      realm,
    );

    var nativeSet = callOf(prototype.set);
    install(
      prototype,
      'set',
      named(
        {
          set(source, offset) {
            if (nameOf(this) === undefined) return nativeSet(this, source, offset);
            // The offset is converted first (it may run user code), then the source's length is
            // checked, then the built-in reads it: nothing runs in between.
            var targetOffset = toIntegerOrInfinity(offset);
            if (nameOf(source) !== undefined) return nativeSet(this, source, targetOffset);
            return nativeSet(this, safeArrayLike(realm, source), targetOffset);
          },
        }.set,
        prototype.set,
      ),
      realm,
    );

    function guardTypedSort(methodName) {
      var native = prototype[methodName];
      if (typeof native !== 'function') return;
      var call = callOf(native);
      install(
        prototype,
        methodName,
        named(
          {
            m(comparator) {
              if (
                comparator === undefined &&
                nameOf(this) !== undefined &&
                typedLength(this) > TYPED_SORT_IN_JS_ABOVE
              )
                return call(this, numericCompare);
              return call(this, comparator);
            },
          }.m,
          native,
        ),
        realm,
      );
    }
    guardTypedSort('sort');
    guardTypedSort('toSorted');

    var nativeJoin = callOf(prototype.join);
    install(
      prototype,
      'join',
      named(
        {
          join(separator) {
            var name = nameOf(this);
            if (name === undefined || typedLength(this) <= MAX_DIRECT) return nativeJoin(this, separator);
            var length = typedLength(this);
            var glue = separator === undefined ? ',' : toStringValue(separator);
            var Native = natives[name];
            var buffer = typedBuffer(this);
            var byteOffset = typedByteOffset(this);
            var size = Native.BYTES_PER_ELEMENT;
            var result = '';
            for (var start = 0; start < length; start += MAX_DIRECT) {
              var count = mathMin(MAX_DIRECT, length - start);
              var view = construct(Native, [buffer, byteOffset + start * size, count]);
              result += (start === 0 ? '' : glue) + nativeJoin(view, glue);
            }
            return result;
          },
        }.join,
        prototype.join,
      ),
      realm,
    );
  }

  function wrapTypedArrayConstructor(realm, global, name, Native, nameOf, isArrayBuffer) {
    var wrapper = function (first, second, third) {
      if (new.target === undefined) throw new realm.TypeError("Constructor '" + name + "' requires 'new'");
      var source = first;
      if (isObject(source) && nameOf(source) === undefined && !isArrayBuffer(source)) {
        source = safeIterableOrArrayLike(realm, source);
      }
      return construct(Native, [source, second, third], new.target === wrapper ? Native : new.target);
    };
    defineProperty(wrapper, 'name', { value: name, configurable: true });
    defineProperty(wrapper, 'length', { value: 3, configurable: true });
    defineProperty(wrapper, 'prototype', { value: Native.prototype, writable: false });
    defineProperty(wrapper, 'BYTES_PER_ELEMENT', { value: Native.BYTES_PER_ELEMENT });
    setPrototypeOf(wrapper, getPrototypeOf(Native));
    defineProperty(Native.prototype, 'constructor', {
      value: wrapper,
      writable: true,
      enumerable: false,
      configurable: true,
    });
    install(global, name, wrapper);
  }

  // ---------------------------------------------------------------------------------------------
  // JSON, String.raw

  function identityReplacer(_key, value) {
    return value;
  }

  function isBoxedPrimitive(realm, value) {
    for (var index = 0; index < realm.valueOfs.length; index++) {
      try {
        realm.valueOfs[index](value);
        return true;
      } catch {}
    }
    return false;
  }

  // A property-list replacer (an array) as a function replacer: objects are rebuilt with the listed
  // keys, read in list order, as the built-in would read them.
  function propertyListReplacer(realm, list) {
    var keys = [];
    var seen = {};
    var length = toLength(+list.length);
    for (var index = 0; index < length; index++) {
      var item = list[index];
      var key;
      if (typeof item === 'string') key = item;
      else if (typeof item === 'number') key = toStringValue(item);
      else if (isObject(item) && isBoxedPrimitive(realm, item)) {
        var unboxed = realm.unboxStringOrNumber(item);
        if (unboxed === undefined) continue;
        key = toStringValue(item);
      } else continue;
      if (hasOwn(seen, key)) continue;
      seen[key] = true;
      keys[keys.length] = key;
    }
    return function (_key, value) {
      if (!isObject(value) || isArray(value) || typeof value === 'function' || isBoxedPrimitive(realm, value))
        return value;
      if (realm.isRawJSON?.(value)) return value;
      var copy = {};
      for (var index = 0; index < keys.length; index++) {
        defineProperty(copy, keys[index], {
          value: reflectGet(value, keys[index], value),
          writable: true,
          enumerable: true,
          configurable: true,
        });
      }
      return copy;
    };
  }

  function guardJSON(realm, global) {
    var JSONObject = global.JSON;
    var native = JSONObject.stringify;
    var call = callOf(native);
    // With a replacer function, the built-in calls a function for every value it writes, which
    // polls; without one, a sparse array of length 2 ** 32 - 1 is written in C.
    install(
      JSONObject,
      'stringify',
      named(
        {
          stringify(value, replacer, space) {
            if (typeof replacer === 'function') return call(JSONObject, value, replacer, space);
            if (isArray(replacer))
              return call(JSONObject, value, propertyListReplacer(realm, replacer), space);
            return call(JSONObject, value, identityReplacer, space);
          },
        }.stringify,
        native,
      ),
      realm,
    );

    var StringConstructor = global.String;
    var nativeRaw = StringConstructor.raw;
    if (typeof nativeRaw === 'function') {
      install(
        StringConstructor,
        'raw',
        named(
          {
            raw(template) {
              if (!isObject(template)) return apply(nativeRaw, this, arguments);
              var args = [];
              for (var index = 0; index < arguments.length; index++) args[index] = arguments[index];
              var raw = template.raw;
              args[0] = { raw: isObject(raw) ? safeArrayLike(realm, raw) : raw };
              return apply(nativeRaw, this, args);
            },
          }.raw,
          nativeRaw,
        ),
        realm,
      );
    }
  }

  // ---------------------------------------------------------------------------------------------
  // String searches

  function escapeRegExp(text) {
    return stringReplace(text, /[\\^$.*+?()[\]{}|/]/g, '\\$&');
  }

  // StringIndexOf done by the regular-expression engine, which polls while it searches.
  function searchForward(text, search, start) {
    var expression = new SharedRegExp(escapeRegExp(search), 'g');
    expression.lastIndex = start;
    var match = regExpExec(expression, text);
    return match === null ? -1 : match.index;
  }

  function searchBackward(text, search, start) {
    for (var position = mathMin(start, text.length - search.length); position >= 0; position--) {
      if (stringStartsWith(text, search, position)) return position;
    }
    return -1;
  }

  function costly(text, search) {
    return text.length * search.length > MAX_SEARCH_WORK;
  }

  function isRegExp(realm, value) {
    if (!isObject(value)) return false;
    var matcher = value[symbolMatch];
    if (matcher !== undefined) return !!matcher;
    return realm.hasRegExpMatcher(value);
  }

  function guardStrings(realm, global) {
    var prototype = global.String.prototype;
    var nativeIndexOf = callOf(prototype.indexOf);
    var nativeLastIndexOf = callOf(prototype.lastIndexOf);
    var nativeIncludes = callOf(prototype.includes);
    var nativeSplit = callOf(prototype.split);
    var nativeReplace = callOf(prototype.replace);
    var nativeReplaceAll = callOf(prototype.replaceAll);

    install(
      prototype,
      'indexOf',
      named(
        {
          indexOf(search, position) {
            var text = this;
            if (typeof text !== 'string' || typeof search !== 'string') {
              if (text === null || text === undefined) return nativeIndexOf(text, search, position);
              text = toStringValue(text);
              search = toStringValue(search);
            }
            if (!costly(text, search)) return nativeIndexOf(text, search, position);
            var start = toIntegerOrInfinity(position);
            return searchForward(text, search, mathMin(mathMax(start, 0), text.length));
          },
        }.indexOf,
        prototype.indexOf,
      ),
      realm,
    );

    install(
      prototype,
      'includes',
      named(
        {
          includes(search, position) {
            var text = this;
            if (typeof text !== 'string' || typeof search !== 'string') {
              if (text === null || text === undefined || isRegExp(realm, search))
                return nativeIncludes(text, search, position);
              text = toStringValue(text);
              search = toStringValue(search);
            }
            if (!costly(text, search)) return nativeIncludes(text, search, position);
            var start = toIntegerOrInfinity(position);
            return searchForward(text, search, mathMin(mathMax(start, 0), text.length)) >= 0;
          },
        }.includes,
        prototype.includes,
      ),
      realm,
    );

    install(
      prototype,
      'lastIndexOf',
      named(
        {
          lastIndexOf(search, position) {
            var text = this;
            if (typeof text !== 'string' || typeof search !== 'string') {
              if (text === null || text === undefined) return nativeLastIndexOf(text, search, position);
              text = toStringValue(text);
              search = toStringValue(search);
            }
            if (!costly(text, search)) return nativeLastIndexOf(text, search, position);
            var number = +position;
            var start = numberIsNaN(number) ? Number.POSITIVE_INFINITY : mathTrunc(number);
            return searchBackward(text, search, mathMin(mathMax(start, 0), text.length));
          },
        }.lastIndexOf,
        prototype.lastIndexOf,
      ),
      realm,
    );

    install(
      prototype,
      'split',
      named(
        {
          split(separator, limit) {
            if (this === null || this === undefined) return nativeSplit(this, separator, limit);
            if (isObject(separator)) {
              var splitter = separator[symbolSplit];
              if (splitter !== undefined && splitter !== null)
                return apply(splitter, separator, [this, limit]);
            }
            var text = toStringValue(this);
            var count = limit === undefined ? 4294967295 : +limit >>> 0;
            if (separator === undefined) return nativeSplit(text, separator, count);
            var search = toStringValue(separator);
            if (!costly(text, search)) return nativeSplit(text, search, count);
            var result = construct(realm.Array, []);
            if (count === 0) return result;
            var start = 0;
            var found = searchForward(text, search, 0);
            while (found !== -1) {
              createDataProperty(realm, result, result.length, stringSlice(text, start, found));
              if (result.length === count) return result;
              start = found + search.length;
              found = searchForward(text, search, start);
            }
            createDataProperty(realm, result, result.length, stringSlice(text, start));
            return result;
          },
        }.split,
        prototype.split,
      ),
      realm,
    );

    function guardReplace(methodName, nativeCall, all) {
      install(
        prototype,
        methodName,
        named(
          {
            m(searchValue, replaceValue) {
              if (this === null || this === undefined) return nativeCall(this, searchValue, replaceValue);
              if (isObject(searchValue)) {
                if (all && isRegExp(realm, searchValue)) {
                  var flags = searchValue.flags;
                  if (flags === null || flags === undefined || !stringIncludes(toStringValue(flags), 'g'))
                    throw new realm.TypeError('replaceAll must be called with a global RegExp');
                }
                var replacer = searchValue[symbolReplace];
                if (replacer !== undefined && replacer !== null)
                  return apply(replacer, searchValue, [this, replaceValue]);
              }
              var text = toStringValue(this);
              var search = toStringValue(searchValue);
              var replacement =
                typeof replaceValue === 'function' ? replaceValue : toStringValue(replaceValue);
              if (!costly(text, search)) return nativeCall(text, search, replacement);
              // The shared realm's regular expressions are frozen and pristine; with no capture
              // groups, their substitutions ($&, $`, $', $$) and replacer arguments are those of a
              // string pattern.
              var expression = new SharedRegExp(escapeRegExp(search), all ? 'g' : '');
              return nativeCall(text, expression, replacement);
            },
          }.m,
          prototype[methodName],
        ),
        realm,
      );
    }
    guardReplace('replace', nativeReplace, false);
    guardReplace('replaceAll', nativeReplaceAll, true);
  }

  // ---------------------------------------------------------------------------------------------
  // RegExp.prototype[Symbol.replace] and [Symbol.split] read `length` of what `exec` returns and
  // walk that many captures in C. A pristine regular expression returns real matches; anything
  // else gets a view whose `exec` results (and whose species' results) are pinned.

  function guardRegExps(realm, global) {
    var RegExpConstructor = global.RegExp;
    var prototype = RegExpConstructor.prototype;
    var nativeExec = prototype.exec;
    var speciesGetter = getOwnPropertyDescriptor(RegExpConstructor, symbolSpecies).get;
    var sourceGetter = callOf(getOwnPropertyDescriptor(prototype, 'source').get);
    realm.hasRegExpMatcher = function (value) {
      if (value === prototype) return false;
      try {
        sourceGetter(value);
        return true;
      } catch {
        return false;
      }
    };

    function pristine(expression, needsSpecies) {
      if (!isObject(expression) || !realm.hasRegExpMatcher(expression)) return false;
      if (plainLookup(expression, 'exec') !== nativeExec) return false;
      if (!needsSpecies) return true;
      if (plainLookup(expression, 'constructor') !== RegExpConstructor) return false;
      var species = getOwnPropertyDescriptor(RegExpConstructor, symbolSpecies);
      return (
        species !== undefined &&
        species.get === speciesGetter &&
        !isRecordedProxy(RegExpConstructor) &&
        plainLookup(prototype, 'exec') === nativeExec
      );
    }

    function pinResult(result) {
      if (!isObject(result)) return result;
      var length = plainLength(result);
      if (length >= 0 && length <= MAX_DIRECT) return result;
      if (length < 0) length = toLength(+result.length);
      return pin(result, length);
    }

    function shielded(expression) {
      return new NativeProxy(expression, {
        get: function (target, key) {
          if (key === 'exec') {
            var exec = reflectGet(target, 'exec', target);
            if (typeof exec !== 'function') return exec;
            return function (text) {
              return pinResult(apply(exec, target, [text]));
            };
          }
          if (key === 'constructor') {
            // SpeciesConstructor reads `constructor[Symbol.species]`: the holder returned here
            // makes the splitter it builds a shielded one too.
            var ownConstructor = reflectGet(target, 'constructor', target);
            if (ownConstructor !== undefined && !isObject(ownConstructor)) return ownConstructor;
            var species = ownConstructor === undefined ? undefined : ownConstructor[symbolSpecies];
            var Species = species === undefined || species === null ? RegExpConstructor : species;
            var holder = {};
            holder[symbolSpecies] = function (pattern, flags) {
              return shielded(construct(Species, [pattern, flags]));
            };
            return holder;
          }
          return reflectGet(target, key, target);
        },
        set: function (target, key, value) {
          return reflectSet(target, key, value, target);
        },
      });
    }

    function guardSymbolMethod(symbol, needsSpecies) {
      var native = prototype[symbol];
      if (typeof native !== 'function') return;
      install(
        prototype,
        symbol,
        named(
          {
            m() {
              if (pristine(this, needsSpecies)) return apply(native, this, arguments);
              if (!isObject(this)) return apply(native, this, arguments);
              return apply(native, shielded(this), arguments);
            },
          }.m,
          native,
        ),
        realm,
      );
    }
    guardSymbolMethod(symbolReplace, false);
    guardSymbolMethod(symbolSplit, true);
  }

  // ---------------------------------------------------------------------------------------------
  // Compilers

  function guardCompilers(realm, global) {
    function checkSource(args) {
      var total = 0;
      var texts = [];
      for (var index = 0; index < args.length; index++) {
        texts[index] = toStringValue(args[index]);
        total += texts[index].length;
      }
      if (total > MAX_SOURCE)
        throw new realm.RangeError('Code compiled at run time is limited to ' + MAX_SOURCE + ' characters');
      return texts;
    }

    function wrapConstructor(Native, name) {
      var wrapper = function () {
        var texts = checkSource(arguments);
        return construct(
          Native,
          texts,
          new.target === undefined || new.target === wrapper ? Native : new.target,
        );
      };
      defineProperty(wrapper, 'name', { value: name, configurable: true });
      defineProperty(wrapper, 'length', { value: 1, configurable: true });
      defineProperty(wrapper, 'prototype', { value: Native.prototype, writable: false });
      setPrototypeOf(wrapper, getPrototypeOf(Native));
      install(Native.prototype, 'constructor', wrapper);
      return wrapper;
    }

    var FunctionConstructor = global.Function;
    var kinds = [
      [FunctionConstructor, 'Function'],
      [getPrototypeOf(global.eval('(async function () {})')).constructor, 'AsyncFunction'],
      [getPrototypeOf(global.eval('(function* () {})')).constructor, 'GeneratorFunction'],
      [getPrototypeOf(global.eval('(async function* () {})')).constructor, 'AsyncGeneratorFunction'],
    ];
    for (var index = 0; index < kinds.length; index++) {
      var wrapper = wrapConstructor(kinds[index][0], kinds[index][1]);
      if (index === 0) install(global, 'Function', wrapper);
    }
    var nativeEval = global.eval;
    install(
      global,
      'eval',
      named(
        {
          eval(source) {
            if (typeof source !== 'string') return source;
            checkSource([source]);
            return apply(nativeEval, undefined, [source]);
          },
        }.eval,
        nativeEval,
      ),
      realm,
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Proxies are recorded, so that a plain length can be told from a trapped one.

  function guardProxy(realm, global) {
    var RealmProxy = global.Proxy;
    var nativeRevocable = callOf(RealmProxy.revocable);
    var create = function (target, handler) {
      if (new.target === undefined) throw new realm.TypeError("Constructor 'Proxy' requires 'new'");
      var proxy = new RealmProxy(target, handler);
      proxiesCreated = true;
      weakSetAdd(proxies, proxy);
      return proxy;
    };
    // A bound function: constructible, with no `prototype` property, like the native.
    var wrapper = create.bind(undefined);
    defineProperty(wrapper, 'name', { value: 'Proxy', configurable: true });
    defineProperty(wrapper, 'length', { value: 2, configurable: true });
    setPrototypeOf(wrapper, realm.FunctionPrototype);
    var revocable = {
      revocable(target, handler) {
        var result = nativeRevocable(RealmProxy, target, handler);
        proxiesCreated = true;
        weakSetAdd(proxies, result.proxy);
        return result;
      },
    }.revocable;
    install(wrapper, 'revocable', named(revocable, RealmProxy.revocable), realm);
    install(global, 'Proxy', wrapper);
  }

  // ---------------------------------------------------------------------------------------------

  function guardRealm(global) {
    var ObjectConstructor = global.Object;
    var realm = {
      FunctionPrototype: global.Function.prototype,
      TypeError: global.TypeError,
      RangeError: global.RangeError,
      Array: global.Array,
      toObject: function (value) {
        return ObjectConstructor(value);
      },
      valueOfs: [
        callOf(global.Number.prototype.valueOf),
        callOf(global.String.prototype.valueOf),
        callOf(global.Boolean.prototype.valueOf),
        callOf(global.BigInt.prototype.valueOf),
      ],
      unboxStringOrNumber: undefined,
      isRawJSON: typeof global.JSON.isRawJSON === 'function' ? global.JSON.isRawJSON : undefined,
      hasRegExpMatcher: undefined,
      nativeSlice: undefined,
    };
    var numberValueOf = callOf(global.Number.prototype.valueOf);
    var stringValueOf = callOf(global.String.prototype.valueOf);
    realm.unboxStringOrNumber = function (value) {
      try {
        return numberValueOf(value);
      } catch {}
      try {
        return stringValueOf(value);
      } catch {}
      return undefined;
    };

    delete global.SharedArrayBuffer;
    delete global.Atomics;
    var arrayBufferPrototype = global.ArrayBuffer.prototype;
    delete arrayBufferPrototype.resize;
    delete arrayBufferPrototype.transfer;
    delete arrayBufferPrototype.transferToFixedLength;

    install(global.Math, 'random', createRandom(), realm);
    guardArrays(realm, global);
    guardTypedArrays(realm, global);
    guardJSON(realm, global);
    guardStrings(realm, global);
    guardRegExps(realm, global);
    guardCompilers(realm, global);
    guardProxy(realm, global);
  }

  return { guardRealm: guardRealm, seedRandom: seedRandom, NativeProxy: NativeProxy };
})();
