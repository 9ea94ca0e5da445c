// The lockdown, evaluated once per engine instance in the shared realm after the
// formatter and the bridge factory: removes `FinalizationRegistry` and freezes every object
// reachable from the realm's global object and its hidden intrinsics (generator, async and
// iterator prototypes), following property values, accessors and prototypes. Afterwards user code
// that reaches this realm (through `console.log.constructor`) can create objects there but change
// nothing that exists, so nothing it does there outlives its session.
(function () {
  'use strict';
  delete globalThis.FinalizationRegistry;
  var freeze = Object.freeze;
  var getPrototypeOf = Object.getPrototypeOf;
  var getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  var ownKeys = Reflect.ownKeys;
  var visited = new WeakSet();
  var pending = [globalThis];
  function add(value) {
    if (value !== null && (typeof value === 'object' || typeof value === 'function'))
      pending[pending.length] = value;
  }
  var generator = function* () {};
  var asyncGenerator = async function* () {};
  add(async function () {});
  add(generator);
  add(asyncGenerator);
  add(generator());
  add(asyncGenerator());
  add([][Symbol.iterator]());
  add(new Map()[Symbol.iterator]());
  add(new Set()[Symbol.iterator]());
  add(''[Symbol.iterator]());
  add(/a/[Symbol.matchAll]('a'));
  add(
    (function () {
      return arguments;
    })(),
  );
  if (typeof Iterator === 'function') {
    add(
      [].values().map(function (value) {
        return value;
      }),
    );
    if (typeof Iterator.from === 'function')
      add(
        Iterator.from({
          next: function () {
            return { done: true };
          },
        }),
      );
  }
  var count = 0;
  while (pending.length > 0) {
    var object = pending[pending.length - 1];
    pending.length = pending.length - 1;
    if (visited.has(object)) continue;
    visited.add(object);
    freeze(object);
    count++;
    add(getPrototypeOf(object));
    var keys = ownKeys(object);
    for (var index = 0; index < keys.length; index++) {
      var descriptor = getOwnPropertyDescriptor(object, keys[index]);
      if (descriptor === undefined) continue;
      add(descriptor.value);
      add(descriptor.get);
      add(descriptor.set);
    }
  }
  return count;
})();
