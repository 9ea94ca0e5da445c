// Runs the TypeScript compiler on generated declarations (not a test file itself).
import ts from 'typescript';

/** The options the documentation gives for checking code against the declarations. */
const OPTIONS: ts.CompilerOptions = {
  noEmit: true,
  strict: true,
  target: ts.ScriptTarget.ES2022,
  // Only the language's standard library: the declarations must stand on their own (no DOM, no
  // @types/node).
  lib: ['lib.es2022.d.ts'],
  types: [],
  skipDefaultLibCheck: true,
};

/** The standard library's files, parsed once for every check. */
const libraryFiles = new Map<string, ts.SourceFile | undefined>();

/**
 * Type-checks in-memory files with `tsc --noEmit --strict --target es2022` semantics and returns
 * every diagnostic as `file(line): message` (none when they compile).
 */
export function typeCheck(files: Readonly<Record<string, string>>): string[] {
  const host = ts.createCompilerHost(OPTIONS);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const text = files[fileName];
    if (text !== undefined) return ts.createSourceFile(fileName, text, languageVersion);
    if (!libraryFiles.has(fileName)) {
      libraryFiles.set(fileName, getSourceFile(fileName, languageVersion, onError, shouldCreate));
    }
    return libraryFiles.get(fileName);
  };
  host.fileExists = (fileName) => Object.hasOwn(files, fileName) || fileExists(fileName);
  host.readFile = (fileName) => files[fileName] ?? readFile(fileName);
  const program = ts.createProgram(Object.keys(files), OPTIONS, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (diagnostic.file === undefined || diagnostic.start === undefined) return message;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return `${diagnostic.file.fileName}(${line + 1}): ${message}`;
  });
}

/**
 * Sandbox code as the type checker sees it: the body of an async function (named `name`, so that
 * several snippets can be checked in one program).
 */
export function asCode(body: string, name = 'run'): string {
  return `async function ${name}() {\n${body}\n}\n`;
}
