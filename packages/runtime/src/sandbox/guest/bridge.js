// The bridge factory, evaluated once per engine instance in the shared realm (the
// context that also holds the formatter, frozen afterwards by the lockdown). Compiling it there
// instead of in every session saves about half a millisecond per session: QuickJS compiles about
// 100 µs per KB on this machine class.
//
// It evaluates to `createBridge(intrinsics, stop, format, helpers, guards)`, called once per session with the
// session realm's pristine `[globalThis, Promise, Error, JSON.parse, Promise.prototype.then,
// AsyncFunction]` (taken before any user code runs), two host natives, `stop(code)` (the output
// limit was reached) and `format(args)` (console arguments that are not all primitives; returns a
// string), and the shared realm's frozen helpers object (`deepFreeze`, `describeThrown`,
// `serializeResult`, see the formatter), and the guards (see `guards.js`). It hardens the session
// realm with the guards, defines `console`, `tools` and `callTool` on the session's global, removes
// `FinalizationRegistry` there and returns
// `[begin, deliver, drain, onFulfilled, onRejected, notCompiled]`:
// - `begin(toolCalls, argsBytes, outputBytes, contextJson, code, seed0, seed1, seed2, seed3)` sets
//   the limits, seeds `Math.random`, defines the frozen `context` and returns the code compiled as the body of an async function of the session
//   realm (or the bridge's `notCompiled` marker, the outcome recorded, when it does not compile). The host calls it and
//   attaches `onFulfilled` and `onRejected` with the session realm's `then`: a call from here would
//   put the bridge's frames in the code's stack and make its promise one of the shared realm (an
//   async function's promise belongs to the realm of its caller);
// - `deliver(batchJson)` settles tool calls;
// - `drain()` returns what the turn produced: the outbox, then, once the user code has ended, a
//   newline and its outcome (see below). Nothing in the outbox contains a raw newline: every entry
//   is built from `JSON.stringify` output.
//
// The outcome record: `J` + JSON text of the result, `U` (no result), `E` + reason (the result
// cannot be represented as JSON), `T` + JSON description of what was thrown, `S` + the same for
// code that does not compile. Settling inside the guest spares the host a native callback and a
// helper call per session.
//
// What user code can reach, and why that is safe:
// - `console`, `tools`, `callTool` and the tool functions are objects of the shared realm, so user
//   code can reach its `Function`; the lockdown has frozen every object reachable in that realm,
//   so it can change nothing another session would use, and each session gets its own closures;
// - everything the code gets back is of its own realm: promises are made with its `Promise`, tool
//   errors with its `Error`, tool results parsed with its `JSON.parse` (so `instanceof` works);
// - bookkeeping lives in this session's closures and null-prototype objects;
// - what leaves the guest is one string per turn (the outbox), built by concatenating primitives:
//   `[level, text]` for console output (0 stdout, 1 debug, 2 info, 3 warn, 4 error) and
//   `[5, id, name, args]` for a tool call (args embedded as JSON text).
//
// No `for...of`, spread or destructuring below: they would go through iterator objects.
(function () {
  'use strict';
  var create = Object.create;
  var freeze = Object.freeze;
  var defineProperty = Object.defineProperty;
  var stringify = JSON.stringify;
  var callOf = Function.prototype.call.bind.bind(Function.prototype.call);
  var bind = callOf(Function.prototype.bind);
  var charCodeAt = callOf(String.prototype.charCodeAt);
  var includes = callOf(String.prototype.includes);
  var join = callOf(Array.prototype.join);

  function tooLarge(text, limit) {
    var bytes = text.length;
    if (bytes > limit || bytes * 3 <= limit) return bytes > limit;
    for (var index = 0; index < text.length && bytes <= limit; index++) {
      var unit = charCodeAt(text, index);
      if (unit >= 0x80) bytes += unit >= 0x800 && (unit < 0xd800 || unit > 0xdfff) ? 2 : 1;
    }
    return bytes > limit;
  }

  // Tool arguments are written with a replacer: the built-in then calls a function for every value,
  // which polls the interrupt handler (a sparse array of length 2 ** 32 - 1 would hold it in C).
  function passThrough(_key, value) {
    return value;
  }

  return function createBridge(intrinsics, nativeStop, nativeFormat, helpers, guards) {
    var sessionGlobal = intrinsics[0];
    guards.guardRealm(sessionGlobal);
    var SessionPromise = intrinsics[1];
    var SessionError = intrinsics[2];
    var sessionParse = intrinsics[3];
    var SessionAsyncFunction = intrinsics[5];
    var deepFreeze = helpers.deepFreeze;
    var describeThrown = helpers.describeThrown;
    var serializeResult = helpers.serializeResult;
    var rejected = bind(SessionPromise.reject, SessionPromise);
    // The turn's outbox entries, joined with commas when drained.
    var outbox = [];
    var outcome = '';
    var settled = false;
    var active = false;
    var nextId = 1;
    var remaining = 0;
    var maxCalls = 0;
    var maxArgsBytes = 0;
    var outputLeft = 0;
    var limitError;
    // Settle functions of pending calls, at index id - base; index 0 stays empty. Once no call is
    // pending the arrays shrink and base moves on, so they stay small however many calls a run makes.
    var resolvers = [undefined];
    var rejecters = [undefined];
    var base = 0;
    var pending = 0;
    var capturedResolve;
    var capturedReject;
    var toolFunctions = create(null);
    // What begin returns for code that does not compile: a value user code can never produce (the
    // constructor runs the code's text, so crafted code could make it return any value of its own).
    var notCompiled = freeze(create(null));
    var wrapperClosed = create(null);
    wrapperClosed.name = 'SyntaxError';
    wrapperClosed.message = 'The code closes the async function it runs in';
    var quotedNames = create(null);

    function push(entry) {
      outbox[outbox.length] = entry;
    }

    function capture(resolve, reject) {
      capturedResolve = resolve;
      capturedReject = reject;
    }

    function fail(code, message) {
      var error = new SessionError(message);
      error.code = code;
      return rejected(error);
    }

    function callTool(name, args) {
      if (!active) return fail('SESSION_ENDED', 'The session has ended');
      if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
        return fail('TOOL_NOT_FOUND', 'A tool name is a string of 1 to 256 characters');
      }
      if (remaining <= 0) {
        // One frozen error for every call past the limit: rejecting them stays cheap.
        if (limitError === undefined) {
          limitError = new SessionError('The code made more than ' + maxCalls + ' tool calls');
          limitError.code = 'TOOL_CALL_LIMIT_EXCEEDED';
          freeze(limitError);
        }
        return rejected(limitError);
      }
      var json;
      try {
        json = args === undefined ? '{}' : stringify(args, passThrough);
      } catch {}
      if (typeof json !== 'string')
        return fail('TOOL_VALIDATION_ERROR', 'Tool arguments cannot be represented as JSON');
      if (tooLarge(json, maxArgsBytes))
        return fail('TOOL_ARGS_TOO_LARGE', 'Tool arguments exceed ' + maxArgsBytes + ' bytes');
      remaining--;
      var id = nextId++;
      var quoted = quotedNames[name];
      if (quoted === undefined) quoted = quotedNames[name] = stringify(name);
      push('[5,' + id + ',' + quoted + ',' + json + ']');
      var promise = new SessionPromise(capture);
      resolvers[id - base] = capturedResolve;
      rejecters[id - base] = capturedReject;
      capturedResolve = capturedReject = undefined;
      pending++;
      return promise;
    }

    function formatLine(args) {
      var text = '';
      for (var index = 0; index < args.length; index++) {
        var value = args[index];
        var type = typeof value;
        var primitive =
          type === 'string'
            ? !(index === 0 && args.length > 1 && includes(value, '%'))
            : type === 'number' || type === 'boolean' || value === undefined || value === null;
        if (!primitive) return nativeFormat(args);
        text += (index === 0 ? '' : ' ') + (value === 0 && 1 / value < 0 ? '-0' : value);
      }
      return text;
    }

    function writer(name, level, prefix, skip) {
      var write = function () {
        if (!active || outputLeft < 0 || (skip === 1 && arguments[0])) return;
        var args = [];
        for (var index = skip; index < arguments.length; index++) args[index - skip] = arguments[index];
        var text =
          prefix +
          (prefix !== '' && args.length > 0 ? ': ' : '') +
          formatLine(args) +
          (level === 0 ? '\n' : '');
        outputLeft -= text.length;
        push('[' + level + ',' + stringify(text) + ']');
        if (outputLeft < 0) nativeStop('STDOUT_LIMIT_EXCEEDED');
      };
      return defineProperty(write, 'name', { value: name });
    }

    defineProperty(sessionGlobal, 'console', {
      value: {
        log: writer('log', 0, '', 0),
        info: writer('info', 2, '', 0),
        debug: writer('debug', 1, '', 0),
        warn: writer('warn', 3, '', 0),
        error: writer('error', 4, '', 0),
        trace: writer('trace', 1, 'Trace', 0),
        dir: writer('dir', 0, '', 0),
        assert: writer('assert', 4, 'Assertion failed', 1),
      },
      writable: true,
      configurable: true,
    });
    // Any string key is a tool, except 'then' (tools is not a thenable) and 'toJSON'; callTool reaches those.
    defineProperty(sessionGlobal, 'tools', {
      value: new guards.NativeProxy(create(null), {
        get: function (_target, key) {
          if (typeof key !== 'string' || key === 'then' || key === 'toJSON') return undefined;
          var tool = toolFunctions[key];
          if (tool === undefined) {
            tool = defineProperty(bind(callTool, undefined, key), 'name', { value: key });
            toolFunctions[key] = tool;
          }
          return tool;
        },
      }),
    });
    defineProperty(sessionGlobal, 'callTool', { value: callTool });
    delete sessionGlobal.FinalizationRegistry;

    function onFulfilled(value) {
      if (settled) return;
      settled = true;
      var serialized = serializeResult(value);
      outcome = serialized === '' ? 'U' : serialized;
    }

    function onRejected(reason) {
      if (settled) return;
      settled = true;
      outcome = 'T' + describeThrown(reason);
    }

    return [
      function begin(toolCalls, argsBytes, outputBytes, contextJson, code, seed0, seed1, seed2, seed3) {
        guards.seedRandom(seed0, seed1, seed2, seed3);
        active = true;
        remaining = maxCalls = toolCalls;
        maxArgsBytes = argsBytes;
        outputLeft = outputBytes;
        var context = sessionParse(contextJson);
        deepFreeze(context);
        defineProperty(sessionGlobal, 'context', {
          value: context,
          writable: false,
          enumerable: false,
          configurable: false,
        });
        var compiled;
        try {
          compiled = SessionAsyncFunction(code);
        } catch (error) {
          settled = true;
          outcome = 'S' + describeThrown(error);
          return notCompiled;
        }
        // QuickJS builds the function by evaluating its source text: code that closes the wrapper
        // early evaluates to something else. The host tells the two answers apart by their type.
        if (typeof compiled !== 'function') {
          settled = true;
          outcome = 'S' + describeThrown(wrapperClosed);
          return notCompiled;
        }
        return compiled;
      },
      function deliver(batchJson) {
        var batch = sessionParse(batchJson);
        for (var index = 0; index < batch.length; index++) {
          var entry = batch[index];
          var slot = entry[0] - base;
          var resolve = slot > 0 ? resolvers[slot] : undefined;
          if (resolve === undefined) continue;
          var reject = rejecters[slot];
          resolvers[slot] = rejecters[slot] = undefined;
          pending--;
          if (entry[1] === 1) resolve(entry[2]);
          else {
            var error = new SessionError(entry[3]);
            error.code = entry[2];
            if (entry.length > 4) error.details = entry[4];
            reject(error);
          }
        }
        if (pending === 0) {
          base = nextId - 1;
          resolvers.length = rejecters.length = 1;
        }
      },
      function drain() {
        var text = outbox.length === 0 ? '' : outbox.length === 1 ? outbox[0] : join(outbox, ',');
        outbox.length = 0;
        if (outcome !== '') {
          text = text + '\n' + outcome;
          outcome = '';
        }
        return text;
      },
      onFulfilled,
      onRejected,
      notCompiled,
    ];
  };
})();
