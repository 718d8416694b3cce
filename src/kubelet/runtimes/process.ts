/**
 * The `process` runtime: the host's programs are the image. A container is its `command` and
 * `args` (with `$(VAR)` expansion) run as a host process (process_container.ts), in the pod's
 * network namespace and sandbox when it has them; without the sandbox, volumes are not at their
 * mountPath, so arguments and a workingDir naming a path under one are pointed at its directory.
 * A container without a command cannot run (there is no image to give one).
 *
 * @module
 */
import { expandVars } from "../expand.ts";
import { hostPath } from "../hostpaths.ts";
import type { Runtime, RuntimeDeps } from "./index.ts";
import { shellJoin, startProcess, withTty } from "./process_container.ts";

export const NO_COMMAND_MESSAGE = "loopkube runs host programs: the container needs a command";
export const NO_SANDBOX_MESSAGE =
  "running as a plain host process: the pod sandbox needs root and util-linux (unshare, nsenter), so the pod has no hostname, /etc/hosts or /etc/resolv.conf of its own and its volumes are not mounted at their mountPath (they are under the agent's data dir, and arguments or a workingDir naming a path under a mountPath are pointed there)";

export function processRuntime(deps: Pick<RuntimeDeps, "workingDir" | "imagesNotRun">): Runtime {
  return {
    name: "process",
    runsPrograms: true,
    pullsImages: false,
    envBase: undefined,
    withoutSandbox: NO_SANDBOX_MESSAGE,
    refuse(container) {
      if (container.command?.length) return undefined;
      const why = deps.imagesNotRun;
      return why ? `${NO_COMMAND_MESSAGE} (images are not run here: ${why})` : NO_COMMAND_MESSAGE;
    },
    async start(s) {
      const spec = s.container;
      const lookup = (n: string) => s.env[n];
      const wrap = s.wrap();
      // No sandbox: volumes are not at their mountPath; paths under one point at its directory.
      const onHost = (path: string) =>
        wrap ? path : hostPath(path, spec.volumeMounts ?? [], s.volumes);
      let argv = [...(spec.command ?? []), ...(spec.args ?? [])].map((a) =>
        onHost(expandVars(a, lookup)),
      );
      // `tty: true` with stdin (`kubectl debug -it`, `kubectl run -it`): the program gets a
      // terminal from util-linux `script`, as exec gives one; attach -t then talks to it.
      const tty = withTty(spec);
      if (tty) argv = ["script", "-qfec", shellJoin(argv), "/dev/null"];
      const log = await s.openLog();
      if (s.stopping()) {
        await log.close();
        return undefined;
      }
      try {
        return startProcess({
          argv,
          env: s.env,
          cwd: spec.workingDir ? onHost(spec.workingDir) : deps.workingDir,
          log,
          ...(wrap ? { wrap } : {}),
          ...(spec.stdin ? { stdin: true } : {}),
          ...(tty ? { tty } : {}),
        });
      } catch (e) {
        await log.close();
        throw e;
      }
    },
  };
}
