// Where the protoc descriptor set of every .proto file (imports and source info
// included) lives at run time.
import { fileURLToPath } from 'node:url';

/** Absolute path of libs/api/descriptors/all.binpb (protoc --descriptor_set_out --include_imports --include_source_info). */
export function descriptorSetPath(): string {
  // This module sits in src/ (or dist/ once built); the descriptors folder is beside both.
  return fileURLToPath(new URL('../descriptors/all.binpb', import.meta.url));
}
