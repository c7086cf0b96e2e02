/**
 * The prompt language as kernel_info and saved notebooks name it. pygments_lexer and codemirror_mode are names
 * nbconvert and classic Notebook already know: without them nbconvert warns "No lexer found for language
 * 'anygpt'" and classic Notebook requests codemirror/mode/anygpt/anygpt.js (a 404) on each first open.
 */
export const LANGUAGE_INFO = {
  name: 'anygpt',
  version: '1.0',
  mimetype: 'text/x-anygpt',
  file_extension: '.anygpt',
  pygments_lexer: 'text',
  codemirror_mode: 'markdown',
};
