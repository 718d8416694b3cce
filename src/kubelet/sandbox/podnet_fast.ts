/**
 * The two long-lived helpers that build and remove root pod networks without a process start
 * per pod (podnet.ts):
 *
 * - `ip -force -batch -` kept open: the host side (namespace, host link up, route) and teardowns.
 *   `ip` says nothing on success and, for a failed line, its error then `Command failed -:N` on
 *   stderr (unbuffered), and goes on (`-force`). So each request is followed by a line that
 *   always fails (an unknown object, no side effect): its `Command failed` marks the request done,
 *   and the failures numbered in between are the request's errors.
 * - the namespace configurer, for what `ip -batch` can only do by forking (`netns exec`): a pod
 *   namespace's own addresses, routes and sysctls are set from inside it. Node can neither enter
 *   a namespace (setns) nor open a netlink socket, so it is a small Perl program (perl-base is
 *   part of every Debian and Ubuntu system; without perl the per-pod path is used): per request
 *   it enters the pod's namespace with setns(2), writes the sysctls under /proc/sys/net (which
 *   belong to the writer's namespace), sends the `ip` commands of the pod side as rtnetlink
 *   requests with acknowledgements, and goes back to the host's namespace. It understands only
 *   the forms `setUpPlan` writes (`link add DEV type veth peer name PEER netns host`, the peer
 *   going to the host's namespace; `link set DEV up`; `addr add A/N dev DEV [scope S]`; `route
 *   add|del [local] DST[/N] [via GW] dev DEV [scope S] [src A] [table local|main]`) and refuses
 *   any other. Answers: `<id> ok` or `<id> err <why>` on stdout. The veth pair is made here, not
 *   by `ip`: `ip link add … netns NAME` leaves the namespace's file open, so a long-lived `ip`
 *   would keep every pod namespace it touched (and its veth pair) alive.
 *
 * @module
 */

import { which } from "../runtimes/index.ts";
import { type LineProtocol, type LongLivedHelper, longLivedHelper } from "./podnet_longlived.ts";

/** The line after each request: always fails, changes nothing. */
const SENTINEL = "loopkube-sync";

interface IpTag {
  first: number;
  sentinel: number;
  lines: string[];
  errors: string[];
}

/** `ip -force -batch -`'s answers, line by line (see the module header). */
export const ipBatchProtocol: LineProtocol<string[], { lines: number; said: string[] }> = {
  fresh: () => ({ lines: 0, said: [] }),
  write(lines, state) {
    for (const l of lines) {
      if (/[\n\\]/.test(l)) throw new Error(`not one ip command: ${JSON.stringify(l)}`);
    }
    const first = state.lines + 1;
    state.lines += lines.length + 1;
    const tag: IpTag = { first, sentinel: state.lines, lines, errors: [] };
    return { text: `${[...lines, SENTINEL].join("\n")}\n`, tag };
  },
  read(line, head, state) {
    const m = /^Command failed -:(\d+)$/.exec(line);
    if (!m) {
      state.said.push(line.trim());
      return undefined;
    }
    const n = Number(m[1]);
    const said = state.said.join(" ");
    state.said = [];
    const tag = head as IpTag;
    if (n === tag.sentinel) return tag.errors.length > 0 ? { error: tag.errors.join("; ") } : {};
    if (n >= tag.first && n < tag.sentinel) tag.errors.push(`${tag.lines[n - tag.first]}: ${said}`);
    return undefined;
  },
};

/** A request to the namespace configurer: the namespace's path and the lines to do in it. */
export interface InNetns {
  path: string;
  lines: string[];
}

export const nsConfigProtocol: LineProtocol<InNetns, { next: number }> = {
  fresh: () => ({ next: 0 }),
  write(req, state) {
    for (const f of [req.path, ...req.lines]) {
      if (/[\t\n]/.test(f)) throw new Error(`not one field: ${JSON.stringify(f)}`);
    }
    const id = ++state.next;
    return { text: `${[id, req.path, ...req.lines].join("\t")}\n`, tag: id };
  },
  read(line, head) {
    const m = /^(\d+) (?:ok|err (.*))$/.exec(line);
    if (!m || Number(m[1]) !== head) return undefined;
    return m[2] === undefined ? {} : { error: m[2] };
  },
};

/** The configurer (see the module header). setns numbers by architecture. */
export const NS_CONFIG_PL = String.raw`
use strict;
use warnings;
use Socket qw(SOCK_RAW);
use Config;
$| = 1;
my %SETNS = (x86_64 => 308, aarch64 => 268, riscv64 => 268);
my ($arch) = $Config{archname} =~ /^([^-]+)/;
my $SYS_SETNS = $SETNS{$arch} // die "no setns number known for $arch\n";
my $NEWNET = 0x40000000;
open(my $HOST, '<', '/proc/self/ns/net') or die "/proc/self/ns/net: $!\n";
my $seq = 0;
sub ip4 { my @o = split /\./, $_[0]; die "bad address $_[0]\n" unless @o == 4; pack('C4', @o) }
sub attr { my ($t, $d) = @_; my $l = 4 + length $d; pack('S S', $l, $t) . $d . ("\0" x ((4 - $l % 4) % 4)) }
sub talk {
  my ($nl, $type, $flags, $body) = @_;
  $seq++;
  send($nl, pack('L S S L L', 16 + length $body, $type, $flags | 5, $seq, 0) . $body, 0)
    // die "netlink send: $!\n";
  while (1) {
    defined(recv($nl, my $buf, 65536, 0)) or die "netlink recv: $!\n";
    while (length $buf >= 16) {
      my ($len, $t, undef, $s) = unpack('L S S L', $buf);
      if ($t == 2 && $s == $seq) {
        my $err = unpack('l', substr($buf, 16, 4));
        return if $err == 0;
        local $! = -$err;
        die "RTNETLINK answers: $!\n";
      }
      last if $len < 16;
      $buf = substr($buf, ($len + 3) & ~3);
    }
  }
}
sub ifindex {
  my ($nl, $name) = @_;
  my $ifr = pack('a16 x24', $name);
  ioctl($nl, 0x8933, $ifr) or die "Cannot find device \"$name\"\n";
  unpack('x16 i', $ifr);
}
my %SCOPE = (global => 0, link => 253, host => 254);
my %TABLE = (main => 254, local => 255);
sub op {
  my ($nl, $line) = @_;
  if ($line =~ m{^sysctl (/proc/sys/net/[\w./-]+) (\w+)$}) {
    open(my $f, '>', $1) or die "$1: $!\n";
    print $f "$2\n";
    close($f) or die "$1: $!\n";
  } elsif ($line =~ m{^link add (\S+) type veth peer name (\S+) netns host$}) {
    my $peer = pack('C x S i I I', 0, 0, 0, 0, 0) . attr(3, "$2\0") . attr(28, pack('i', fileno($HOST)));
    talk($nl, 16, 0x600, pack('C x S i I I', 0, 0, 0, 0, 0) . attr(3, "$1\0")
      . attr(18, attr(1, 'veth') . attr(2, attr(1, $peer))));
  } elsif ($line =~ m{^link set (\S+) up$}) {
    talk($nl, 16, 0, pack('C x S i I I', 0, 0, 0, 1, 1) . attr(3, "$1\0"));
  } elsif ($line =~ m{^addr add ([\d.]+)/(\d+) dev (\S+)(?: scope (\w+))?$}) {
    my $scope = $SCOPE{$4 // 'global'} // die "bad scope $4\n";
    talk($nl, 20, 0x600, pack('C C C C I', 2, $2, 0, $scope, ifindex($nl, $3))
      . attr(2, ip4($1)) . attr(1, ip4($1)));
  } elsif ($line =~ m{^route (add|del) (?:(local) )?([\d.]+)(?:/(\d+))?(?: via ([\d.]+))? dev (\S+)(?: scope (\w+))?(?: src ([\d.]+))?(?: table (\w+))?$}) {
    my ($add, $type, $dst, $len, $via, $dev, $scope, $src, $table) =
      ($1 eq 'add', $2 ? 2 : 1, $3, $4 // 32, $5, $6, $7, $8, $9);
    my $t = $TABLE{$table // 'main'} // die "bad table $table\n";
    my $sc = !$add ? 255
      : $SCOPE{$scope // ($type == 2 ? 'host' : defined $via ? 'global' : 'link')} // die "bad scope\n";
    my $body = pack('C C C C C C C C I', 2, $len, 0, 0, $t, $add ? 3 : 0, $sc, $type, 0)
      . attr(1, ip4($dst)) . attr(4, pack('i', ifindex($nl, $dev)));
    $body .= attr(5, ip4($via)) if defined $via;
    $body .= attr(7, ip4($src)) if defined $src;
    talk($nl, $add ? 24 : 25, $add ? 0x600 : 0, $body);
  } else {
    die "not understood\n";
  }
}
while (my $req = <STDIN>) {
  chomp $req;
  my ($id, $path, @lines) = split /\t/, $req;
  next unless defined $path;
  my $answer = eval {
    open(my $ns, '<', $path) or die "$path: $!\n";
    syscall($SYS_SETNS, fileno($ns), $NEWNET) == 0 or die "setns $path: $!\n";
    close $ns;
    my $done = eval {
      socket(my $nl, 16, SOCK_RAW, 0) or die "netlink socket: $!\n";
      for my $line (@lines) { eval { op($nl, $line); 1 } or die "$line: $@" }
      close $nl;
      1;
    };
    my $why = $@;
    if (syscall($SYS_SETNS, fileno($HOST), $NEWNET) != 0) { print "$id err setns back: $!\n"; exit 1 }
    die $why unless $done;
    'ok';
  };
  unless (defined $answer) { ($answer = "err $@") =~ s/\s+$//; $answer =~ s/\s+/ /g }
  print "$id $answer\n";
}
`;

export interface PodNetHelpers {
  /** `ip -force -batch -` in the host's namespace. */
  host: LongLivedHelper<string[]>;
  /** The namespace configurer. */
  inNetns: LongLivedHelper<InNetns>;
  close(): Promise<void>;
}

/** Both helpers (started at their first request), or why they cannot be used here. */
export function openPodNetHelpers(): PodNetHelpers | string {
  const path = process.env.PATH ?? "";
  if (!which("perl", path)) return "perl is not installed";
  const host = longLivedHelper(
    { command: "ip", args: ["-force", "-batch", "-"], answers: "stderr" },
    ipBatchProtocol,
  );
  const inNetns = longLivedHelper(
    { command: "perl", args: ["-e", NS_CONFIG_PL], answers: "stdout" },
    nsConfigProtocol,
  );
  return {
    host,
    inNetns,
    close: async () => {
      await Promise.all([host.close(), inNetns.close()]);
    },
  };
}
