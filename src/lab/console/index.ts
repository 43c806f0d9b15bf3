// The lab router's console: RouterOS scripts pasted into it run against the lab state.
export { Interpreter, runScript } from './interpreter.js';
export type { ConsoleError, ConsoleResult, RunScriptOptions } from './interpreter.js';
export { ScriptSyntaxError, parseScript, quoteScriptString, scriptIsComplete } from './syntax.js';
export type { Expr, Item, ParseOptions, Pos, Stmt } from './syntax.js';
export type { ScriptValue } from './values.js';
