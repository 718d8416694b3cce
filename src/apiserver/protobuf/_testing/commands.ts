/**
 * The kubectl commands whose request bodies are captured as fixtures: every generator that
 * creates an object through kubectl's typed client, plus `create -f`/`apply -f` to record that
 * those send JSON. `args` come before any `--`; `after` is what follows it (the container
 * command). `files` are written into kubectl's working directory first. Test-only.
 *
 * @module
 */

export interface CapturedCommand {
  /** Fixture file name (without `.json`). */
  name: string;
  args: string[];
  after?: string[];
  files?: Record<string, Uint8Array>;
  stdin?: string;
  /** False when kubectl cannot print the object with `--dry-run=client -o json`. */
  dryRun?: boolean;
}

const POD_YAML = `apiVersion: v1
kind: Pod
metadata:
  name: from-file
spec:
  containers:
  - name: c
    image: busybox
`;

export const COMMANDS: CapturedCommand[] = [
  { name: "namespace", args: ["create", "namespace", "x"] },
  {
    name: "deployment",
    args: ["create", "deployment", "web", "--image=nginx", "--replicas=3", "--port=8080"],
  },
  {
    name: "deployment-command",
    args: ["create", "deployment", "multi", "--image=busybox", "--image=nginx:1.27"],
  },
  {
    name: "deployment-with-command",
    args: ["create", "deployment", "sleeper", "--image=busybox", "-n", "team-a"],
    after: ["sleep", "3600"],
  },
  {
    name: "configmap",
    args: ["create", "configmap", "c", "--from-literal=a=b", "--from-literal=empty="],
  },
  {
    name: "configmap-files",
    args: ["create", "configmap", "files", "--from-file=text.txt", "--from-file=blob.bin"],
    files: {
      "text.txt": new TextEncoder().encode("hello\nworld\n"),
      "blob.bin": new Uint8Array([0xff, 0xfe, 0x00, 0x01, 0x80]),
    },
  },
  {
    name: "secret-generic",
    args: ["create", "secret", "generic", "s", "--from-literal=p=q", "--from-literal=u=\u00e9"],
  },
  {
    name: "secret-docker-registry",
    args: [
      "create",
      "secret",
      "docker-registry",
      "reg",
      "--docker-server=registry.invalid",
      "--docker-username=u",
      "--docker-password=not-a-secret",
    ],
  },
  { name: "service-clusterip", args: ["create", "service", "clusterip", "svc", "--tcp=80:8080"] },
  {
    name: "service-headless",
    args: ["create", "service", "clusterip", "headless", "--clusterip=None", "--tcp=5432"],
  },
  {
    name: "service-nodeport",
    args: ["create", "service", "nodeport", "np", "--tcp=80:8080", "--node-port=30080"],
  },
  {
    name: "service-loadbalancer",
    args: ["create", "service", "loadbalancer", "lb", "--tcp=443:8443", "--tcp=80:http"],
  },
  {
    name: "service-externalname",
    args: ["create", "service", "externalname", "ext", "--external-name=db.example.com"],
  },
  { name: "serviceaccount", args: ["create", "serviceaccount", "sa"] },
  {
    name: "run",
    args: ["run", "p", "--image=busybox", "--env=A=B", "--port=80", "--labels=x=y", "--command"],
    after: ["sleep", "3600"],
  },
  {
    name: "run-options",
    args: [
      "run",
      "q",
      "--image=nginx",
      "--restart=Never",
      "--image-pull-policy=IfNotPresent",
      "--annotations=team=a",
      "--privileged",
      "--env=EMPTY=",
    ],
    after: ["--verbose"],
  },
  {
    name: "expose-deployment",
    args: ["expose", "deployment", "web", "--port=80", "--target-port=8080", "--name=web-svc"],
  },
  {
    name: "expose-nodeport",
    args: ["expose", "deployment", "web", "--port=80", "--type=NodePort", "--protocol=UDP"],
  },
  { name: "job", args: ["create", "job", "j", "--image=busybox"], after: ["echo", "hi"] },
  {
    name: "cronjob",
    args: ["create", "cronjob", "cj", "--image=busybox", "--schedule=*/5 * * * *"],
    after: ["date"],
  },
  { name: "quota", args: ["create", "quota", "q", "--hard=cpu=1,memory=1Gi,pods=2"] },
  {
    name: "token",
    args: ["create", "token", "sa", "--audience=api", "--duration=10m"],
    dryRun: false,
  },
  {
    name: "autoscale",
    args: ["autoscale", "deployment", "web", "--min=2", "--max=5", "--cpu-percent=80"],
  },
  {
    name: "poddisruptionbudget",
    args: ["create", "poddisruptionbudget", "pdb", "--selector=app=web", "--min-available=50%"],
  },
  {
    name: "ingress",
    args: [
      "create",
      "ingress",
      "ing",
      "--class=default",
      "--rule=foo.example.com/bar*=svc:8080,tls=secret1",
      "--annotation=a=b",
    ],
  },
  {
    name: "priorityclass",
    args: ["create", "priorityclass", "high", "--value=1000", "--description=d"],
  },
  {
    name: "role",
    args: ["create", "role", "r", "--verb=get,list", "--resource=pods,deployments.apps"],
  },
  {
    name: "clusterrole",
    args: ["create", "clusterrole", "cr", "--verb=get", "--non-resource-url=/healthz"],
  },
  {
    name: "rolebinding",
    args: ["create", "rolebinding", "rb", "--role=r", "--user=u", "--group=g"],
  },
  {
    name: "clusterrolebinding",
    args: [
      "create",
      "clusterrolebinding",
      "crb",
      "--clusterrole=cr",
      "--serviceaccount=default:sa",
    ],
  },
  { name: "auth-can-i", args: ["auth", "can-i", "get", "pods", "-n", "team-a"], dryRun: false },
  { name: "auth-whoami", args: ["auth", "whoami"], dryRun: false },
  {
    name: "create-file",
    args: ["create", "-f", "-", "--validate=false"],
    stdin: POD_YAML,
    dryRun: false,
  },
  {
    name: "apply-file",
    args: ["apply", "-f", "-", "--validate=false"],
    stdin: POD_YAML,
    dryRun: false,
  },
];

/** The full argument list for a command, with extra flags placed before any `--`. */
export function argvOf(cmd: CapturedCommand, extraFlags: string[] = []): string[] {
  const out = [...cmd.args, ...extraFlags];
  if (cmd.after) out.push("--", ...cmd.after);
  return out;
}
