#!/bin/sh
# The cni-installer image's entry point, as Cilium's install-cni: drops the cilium-ts CNI
# plugin and its network configuration onto the node, then stays up (a DaemonSet pod) so
# that its HEALTHCHECK (--check) keeps proving the plugin answers on the node.
# The node's directories are mounted at:
#   $CNI_BIN_DIR        (default /host/opt/cni/bin)      the plugin launcher: cilium-cni
#   $CNI_CONF_DIR       (default /host/etc/cni/net.d)    05-cilium-ts.conflist
#   $CILIUM_TS_HOST_DIR (default /host/opt/cilium-ts)    node binary and the plugin's code
# The launcher names the node's paths, which are these without the /host prefix
# ($HOST_PREFIX, default /host).
# Usage: install-cni.sh [--check | --once]
set -eu
bin_dir="${CNI_BIN_DIR:-/host/opt/cni/bin}"
conf_dir="${CNI_CONF_DIR:-/host/etc/cni/net.d}"
home="${CILIUM_TS_HOST_DIR:-/host/opt/cilium-ts}"
prefix="${HOST_PREFIX:-/host}"
node_home="${home#"$prefix"}"

check() {
  [ -x "$bin_dir/cilium-cni" ] || { echo "install-cni: $bin_dir/cilium-cni is missing" >&2; return 1; }
  [ -f "$conf_dir/05-cilium-ts.conflist" ] || { echo "install-cni: $conf_dir/05-cilium-ts.conflist is missing" >&2; return 1; }
  out=$(CNI_COMMAND=VERSION "$home/bin/node" "$home/cni/apps/cni/dist/main.js" </dev/null) ||
    { echo "install-cni: the installed plugin does not answer VERSION" >&2; return 1; }
  case "$out" in *supportedVersions*) echo "install-cni: plugin installed and answering: $out" ;; *) echo "install-cni: unexpected VERSION answer: $out" >&2; return 1 ;; esac
}

case "${1:-}" in
  --check) check; exit $? ;;
  --once|"") ;;
  *) echo "usage: install-cni.sh [--check | --once]" >&2; exit 2 ;;
esac

mkdir -p "$bin_dir" "$conf_dir" "$home/bin"
# Replace, never half-write: copy beside, then rename into place.
rm -rf "$home/cni.new"
cp -a /app "$home/cni.new"
rm -rf "$home/cni.new/install-cni.sh"
cp /usr/bin/node "$home/bin/node.new" && mv -f "$home/bin/node.new" "$home/bin/node"
rm -rf "$home/cni.old"
[ ! -d "$home/cni" ] || mv "$home/cni" "$home/cni.old"
mv "$home/cni.new" "$home/cni"
rm -rf "$home/cni.old"
cat >"$bin_dir/cilium-cni.new" <<LAUNCHER
#!/bin/sh
# cilium-ts CNI plugin, installed by the cilium-ts cni-installer image.
exec $node_home/bin/node $node_home/cni/apps/cni/dist/main.js "\$@"
LAUNCHER
chmod 755 "$bin_dir/cilium-cni.new"
mv -f "$bin_dir/cilium-cni.new" "$bin_dir/cilium-cni"
cp /app/apps/cni/conf/05-cilium-ts.conflist "$conf_dir/.05-cilium-ts.conflist.new"
mv -f "$conf_dir/.05-cilium-ts.conflist.new" "$conf_dir/05-cilium-ts.conflist"
check
[ "${1:-}" = --once ] && exit 0
echo "install-cni: installed; staying up for the health check"
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
