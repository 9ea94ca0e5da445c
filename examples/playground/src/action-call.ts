import type { CatalogAction } from '@enclave-vm/client';

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * The line a click on an action inserts into the editor: the call with its required arguments filled
 * with placeholders of their type, e.g.
 * `const notes = await tools.notes_listNotes({});` or
 * `const note = await tools['user-service_getUser']({ id: '' });`.
 */
export function actionCall(action: CatalogAction): string {
  const callee = IDENTIFIER.test(action.name) ? `tools.${action.name}` : `tools[${quote(action.name)}]`;
  return `const result = await ${callee}(${placeholder(action.inputSchema ?? { type: 'object' })});`;
}

/** A value of the schema's type that a person then edits: required properties only. */
function placeholder(schema: Record<string, unknown>, depth = 0): string {
  if (Object.hasOwn(schema, 'const')) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return JSON.stringify(schema.enum[0]);
  const type = Array.isArray(schema.type) ? schema.type.find((item) => item !== 'null') : schema.type;
  switch (type) {
    case 'string':
      return "''";
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? String(schema.minimum) : '0';
    case 'boolean':
      return 'false';
    case 'array':
      return '[]';
    case 'object':
    case undefined: {
      const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      const required = Array.isArray(schema.required) ? schema.required.map(String) : [];
      if (required.length === 0 || depth > 3) return '{}';
      const fields = required.map((name) => {
        const key = IDENTIFIER.test(name) ? name : quote(name);
        return `${key}: ${placeholder(properties[name] ?? {}, depth + 1)}`;
      });
      return `{ ${fields.join(', ')} }`;
    }
    default:
      return 'null';
  }
}

function quote(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}
