/**
 * Where a program is on a PATH, as a shell finds it: used by the runtimes (the programs a
 * container runs) and by the sandbox (`ip`, `nsenter`, `unshare`), which share no other code.
 *
 * @module
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

/** The path of `cmd` (a name looked up on `path`, or a path checked as it is), if executable. */
export function which(cmd: string, path: string): string | undefined {
  const ok = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (cmd.includes("/")) return ok(cmd) ? cmd : undefined;
  for (const dir of path.split(delimiter)) {
    if (dir && ok(join(dir, cmd))) return join(dir, cmd);
  }
  return undefined;
}
