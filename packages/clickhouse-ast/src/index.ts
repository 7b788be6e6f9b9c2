export { parseAstDump, walk, type AstNode, type DumpResult } from './dump';
export { EXTERNAL_FUNCTIONS, externalAccess, isExternalFunction, isStatement } from './external';
export {
  HARMLESS_SYSTEM_TABLES,
  checkReadStatement,
  type EngineCatalogue,
  type PolicyDecision,
  type PolicyRefusal,
  type ReadPolicy,
} from './read-policy';
