# scripts/lib/netns.sh - the Strait lab: network namespaces and veth pairs
# that put a client, a gateway and four backends on one machine. Sourced
# by scripts/lab.sh and by the end-to-end tests; needs root, iproute2 and
# ethtool.
#
#   client              gateway                          switch             backends
#  +----------------+  +-------------------------------+  +--------------+
#  | eth0 (xdp pass)|--| gw-ext            gw-int      |--| sw-gw (xdp   |
#  | 198.51.100.2/24|  | 198.51.100.1/24   10.1.0.1/24 |  |  pass)       |  +-----------------+
#  | 2001:db8:99::2 |  | 2001:db8:99::1/64 fd00:1::1/64|  |   br0 -sw-b1-|--| b1 eth0         |
#  | default -> gw  |  |   (straitd: XDP on both)      |  |       -sw-b2-|  | 10.1.0.11/24    |
#  +----------------+  | forwarding on, no default     |  |       -sw-b3-|  | fd00:1::11/64   |
#                      +-------------------------------+  |       -sw-b4-|  | default -> gw   |
#                                                         +--------------+  +-----------------+
#                                                            b2 .12, b3 .13, b4 .14 (canary)
#
# VIPs (192.0.2.0/24, 2001:db8:1::/64) reach the gateway through the
# client's default routes; only the gateway's XDP program knows them. A
# veth accepts frames sent into it by XDP_TX/XDP_REDIRECT only when its
# peer runs XDP, hence xdp/pass on eth0 (client) and sw-gw (switch).
# Offloads are off on every veth: a frame forwarded by XDP loses the
# skb's checksum-offload state, so senders must write full checksums, and
# GRO must not glue frames into ones larger than a page.
#
# Every name carries a prefix (LAB_PREFIX, default stlab<pid>), so labs of
# parallel or killed runs never collide:
#
#   . scripts/lib/netns.sh
#   lab_init                 # or: lab_init myprefix
#   trap lab_cleanup EXIT    # safe to call twice
#   lab_up                   # LAB_PASS_OBJ: path of build/xdp/pass.bpf.o
#   lab_exec client ip route
#   lab_gw_exec straitd -c conf   # gateway netns, with its bpffs mounted
#   lab_spawn b1 LOG lab_server --name b1 --port 8080   # background, LAB_PID
#   lab_wait_log LOG listening 5 "$LAB_PID"              # poll, with a deadline
#   lab_dsr_vip 192.0.2.11   # VIP on lo of b1..b3, for L2 DSR
#   lab_reap                 # remove labs whose creating process is gone
#
# shellcheck shell=bash disable=SC2034,SC2016,SC2119,SC2120
# (variables are for the sourcing script; sh -c bodies expand later)

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_RUN_DIR=/run/strait-lab
LAB_NODES="client gw sw b1 b2 b3 b4"
LAB_BACKENDS="b1 b2 b3 b4"

LAB_CLIENT4=198.51.100.2
LAB_CLIENT6=2001:db8:99::2
LAB_GW_EXT4=198.51.100.1
LAB_GW_EXT6=2001:db8:99::1
LAB_GW_INT4=10.1.0.1
LAB_GW_INT6=fd00:1::1
LAB_VIP_NET4=192.0.2.0/24
LAB_VIP_NET6=2001:db8:1::/64

lab_log() { echo "lab: $*" >&2; }
lab_die() { echo "lab: error: $*" >&2; return 1; }

# lab_init [PREFIX]: choose the prefix and the lab's scratch directory.
lab_init() {
	LAB_PREFIX=${1:-${LAB_PREFIX:-stlab$$}}
	case $LAB_PREFIX in
	*[!a-zA-Z0-9_]* | "") lab_die "bad prefix '$LAB_PREFIX'" || return ;;
	esac
	LAB_DIR=$LAB_RUN_DIR/$LAB_PREFIX
	LAB_BPFFS=$LAB_DIR/bpffs
	LAB_PASS_OBJ=${LAB_PASS_OBJ:-$LAB_ROOT/build/xdp/pass.bpf.o}
}

# lab_ns NODE: the netns name of a node (client, gw, sw, b1..b4).
lab_ns() { echo "$LAB_PREFIX-$1"; }

# lab_exec NODE CMD...: run a command inside a node.
lab_exec() {
	local node=$1
	shift
	ip netns exec "$(lab_ns "$node")" "$@"
}

# lab_gw_exec CMD...: run a command in the gateway with the lab's own
# bpffs on /sys/fs/bpf. `ip netns exec` mounts a fresh sysfs, hiding the
# host's bpffs; binding one instance per lab means that straitd, a later
# straitd (restart, --detach) and bpftool all see the same pins.
lab_gw_exec() {
	ip netns exec "$(lab_ns gw)" sh -c \
		'mount --bind "$1" /sys/fs/bpf || exit 125; shift; exec "$@"' \
		sh "$LAB_BPFFS" "$@"
}

# lab_spawn NODE LOG CMD...: start a command in a node in the background
# (in the gateway with its bpffs, as lab_gw_exec), stdout and stderr to
# LOG. Its pid, which is the command's own, goes to LAB_PID.
lab_spawn() {
	local node=$1 log=$2
	shift 2
	if [ "$node" = gw ]; then
		(exec ip netns exec "$(lab_ns gw)" sh -c \
			'mount --bind "$1" /sys/fs/bpf || exit 125; shift; exec "$@"' \
			sh "$LAB_BPFFS" "$@" >"$log" 2>&1) &
	else
		(exec ip netns exec "$(lab_ns "$node")" "$@" >"$log" 2>&1) &
	fi
	LAB_PID=$!
}

lab_backend_addr4() { echo "10.1.0.1${1#b}"; }
lab_backend_addr6() { echo "fd00:1::1${1#b}"; }

lab__sysctl() {
	local node=$1
	shift
	lab_exec "$node" sysctl -qw "$@" >/dev/null
}

# No offloads on a veth end (see the top of the file).
lab__no_offload() {
	lab_exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null
}

lab__xdp_pass() {
	lab_exec "$1" ip link set dev "$2" xdpdrv obj "$LAB_PASS_OBJ" sec xdp
}

# lab__veth NODE_A IF_A NODE_B IF_B: a veth pair straight into two nodes.
lab__veth() {
	ip link add "$2" netns "$(lab_ns "$1")" type veth \
		peer name "$4" netns "$(lab_ns "$3")" || return
	lab__no_offload "$1" "$2" && lab__no_offload "$3" "$4" &&
		lab_exec "$1" ip link set "$2" up &&
		lab_exec "$3" ip link set "$4" up
}

lab__node() {
	ip netns add "$(lab_ns "$1")" || return
	# New interfaces skip IPv6 duplicate address detection: addresses
	# (link-local ones too) are usable the moment they are added.
	lab__sysctl "$1" net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 &&
		lab_exec "$1" ip link set lo up
}

lab__client() {
	lab__veth client eth0 gw gw-ext || return
	lab_exec client ip addr add $LAB_CLIENT4/24 dev eth0 &&
		lab_exec client ip addr add $LAB_CLIENT6/64 dev eth0 nodad &&
		lab_exec client ip route add default via $LAB_GW_EXT4 &&
		lab_exec client ip -6 route add default via $LAB_GW_EXT6
}

lab__gateway() {
	lab__sysctl gw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 &&
		lab_exec gw ip addr add $LAB_GW_EXT4/24 dev gw-ext &&
		lab_exec gw ip addr add $LAB_GW_EXT6/64 dev gw-ext nodad &&
		lab_exec gw ip addr add $LAB_GW_INT4/24 dev gw-int &&
		lab_exec gw ip addr add $LAB_GW_INT6/64 dev gw-int nodad
}

lab__switch() {
	lab_exec sw ip link add br0 type bridge forward_delay 0 \
		mcast_snooping 0 || return
	lab_exec sw ip link set br0 up &&
		lab__veth sw sw-gw gw gw-int &&
		lab_exec sw ip link set sw-gw master br0
}

# Backends answer ARP only for addresses on the asking interface, and
# announce from the interface address: a VIP on lo (DSR) stays silent.
lab__backend() {
	local b=$1
	lab__veth sw "sw-$b" "$b" eth0 || return
	lab_exec sw ip link set "sw-$b" master br0 &&
		lab__sysctl "$b" net.ipv4.conf.all.arp_ignore=1 \
			net.ipv4.conf.all.arp_announce=2 &&
		lab_exec "$b" ip addr add "$(lab_backend_addr4 "$b")/24" dev eth0 &&
		lab_exec "$b" ip addr add "$(lab_backend_addr6 "$b")/64" dev eth0 nodad &&
		lab_exec "$b" ip route add default via $LAB_GW_INT4 &&
		lab_exec "$b" ip -6 route add default via $LAB_GW_INT6
}

# lab_up: build the whole topology. Leaves a half-built lab on failure;
# the caller's trap (lab_cleanup) removes it.
lab_up() {
	local n b
	[ -n "${LAB_PREFIX:-}" ] || lab_init
	[ -r "$LAB_PASS_OBJ" ] || {
		lab_die "no XDP pass object at $LAB_PASS_OBJ (build xdp/ first)"
		return
	}
	mkdir -p "$LAB_BPFFS" || return
	mountpoint -q "$LAB_BPFFS" || mount -t bpf bpf "$LAB_BPFFS" || return
	for n in $LAB_NODES; do
		lab__node "$n" || return
	done
	lab__client && lab__switch && lab__gateway || return
	for b in $LAB_BACKENDS; do
		lab__backend "$b" || return
	done
	lab__xdp_pass client eth0 && lab__xdp_pass sw sw-gw || return
	lab_log "up: prefix $LAB_PREFIX, bpffs $LAB_BPFFS"
}

# lab_dsr_vip ADDR [BACKEND...]: give backends (default b1..b3) a VIP on
# lo, as L2 DSR requires: they accept packets to it and answer from it.
lab_dsr_vip() {
	local vip=$1 len=32 b
	shift
	case $vip in *:*) len=128 ;; esac
	for b in ${*:-b1 b2 b3}; do
		lab_exec "$b" ip addr replace "$vip/$len" dev lo || return
	done
}

# lab_wait_log FILE PATTERN SECONDS [PID]: poll FILE until a line matches
# PATTERN (grep -E). Fails at the deadline, or early if PID has exited.
lab_wait_log() {
	local file=$1 pat=$2 secs=$3 pid=${4:-}
	local end=$(($(date +%s%N) / 1000000 + secs * 1000))
	while [ $(($(date +%s%N) / 1000000)) -lt $end ]; do
		grep -Eq -- "$pat" "$file" 2>/dev/null && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			grep -Eq -- "$pat" "$file" 2>/dev/null && return 0
			lab_log "process $pid exited before '$pat' in $file"
			return 1
		fi
		sleep 0.05
	done
	lab_log "timeout (${secs}s) waiting for '$pat' in $file"
	return 1
}

# lab__kill_ns NS: stop whatever still runs inside a namespace; a netns
# and its veths only go away once its last process has.
lab__kill_ns() {
	local pids i
	pids=$(ip netns pids "$1" 2>/dev/null) || return 0
	[ -n "$pids" ] || return 0
	kill $pids 2>/dev/null
	for i in $(seq 40); do
		pids=$(ip netns pids "$1" 2>/dev/null)
		[ -z "$pids" ] && return 0
		sleep 0.05
	done
	kill -9 $pids 2>/dev/null
}

# lab_cleanup [PREFIX]: remove every namespace and mount of a lab. Safe to
# call twice and on a half-built lab.
lab_cleanup() {
	local p=${1:-${LAB_PREFIX:-}} ns
	[ -n "$p" ] || return 0
	for ns in $(ip netns list 2>/dev/null | awk -v p="$p-" \
		'index($1, p) == 1 { print $1 }'); do
		lab__kill_ns "$ns"
		ip netns del "$ns" 2>/dev/null
	done
	if [ -d "$LAB_RUN_DIR/$p" ]; then
		umount "$LAB_RUN_DIR/$p/bpffs" 2>/dev/null
		rm -rf "${LAB_RUN_DIR:?}/$p"
	fi
	return 0
}

# lab_reap: clean up labs named stlab<pid> whose process no longer runs.
lab_reap() {
	local p pid
	for p in $( (ls "$LAB_RUN_DIR" 2>/dev/null
		ip netns list 2>/dev/null | awk '{ sub(/-[^-]*$/, "", $1); print $1 }') |
		grep -E '^stlab[0-9]+$' | sort -u); do
		pid=${p#stlab}
		[ "$pid" = "$$" ] && continue
		kill -0 "$pid" 2>/dev/null && continue
		lab_log "reaping left-over lab $p"
		lab_cleanup "$p"
	done
}
