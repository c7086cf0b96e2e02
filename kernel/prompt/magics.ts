/** The magic table lives in common/magics.ts: the extension's diagnostics read the same table as the parser. */
export * from '../../common/magics';
