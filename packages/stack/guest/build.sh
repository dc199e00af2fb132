#!/usr/bin/env bash
# Builds aster-tiny, a BIOS-bootable qcow2 disk from Debian packages only: the Debian kernel and a busybox
# initramfs (rootfs/ plus the modules listed in ./modules) on a FAT16 partition booted by syslinux.
#
#   build.sh OUT.qcow2
#
# ASTER_GUEST_CACHE: folder for the downloaded .deb files, reused by later builds (default
# ~/.cache/aster-guest). Host tools (Debian packages): apt-get dpkg-deb (apt, dpkg), cpio, gzip,
# mkfs.fat (dosfstools), syslinux (syslinux, syslinux-common), mcopy (mtools), sfdisk (fdisk),
# qemu-img (qemu-utils). Needs neither root nor mounts: every image is made as a plain file.
set -euo pipefail
shopt -s nullglob inherit_errexit

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: build.sh OUT.qcow2}
cache=${ASTER_GUEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aster-guest}
disk_mib=64        # the virtual disk: small enough for any flavor's root disk
part_start=2048    # in 512-byte sectors: the partition starts at 1 MiB
mbr=/usr/lib/syslinux/mbr/mbr.bin

fail() {
  echo "build.sh: $*" >&2
  exit 1
}

for tool in apt-get dpkg-deb cpio gzip mkfs.fat syslinux mcopy sfdisk qemu-img; do
  command -v "$tool" >/dev/null || fail "$tool is missing; install the Debian packages syslinux syslinux-common mtools dosfstools fdisk cpio qemu-utils"
done
[ -r "$mbr" ] || fail "$mbr is missing; install the Debian package syslinux-common"

work=$(mktemp -d "${TMPDIR:-/tmp}/aster-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT

# newest_deb PACKAGE: the newest cached .deb of PACKAGE, or nothing.
newest_deb() {
  local debs=("$cache"/$1_*.deb)
  [ ${#debs[@]} -gt 0 ] && printf '%s\n' "${debs[@]}" | sort -V | tail -n 1
  return 0
}

# Package lists may be missing on a fresh machine (images often ship without them): fetch them once, as root.
lists_refreshed=0
refresh_lists() {
  [ "$lists_refreshed" = 0 ] && [ "$(id -u)" = 0 ] || return 1
  lists_refreshed=1
  echo "fetching Debian package lists (apt-get update)" >&2
  apt-get update -q >&2
}

# deb PACKAGE: the cached .deb of PACKAGE, downloaded on first use (into a temporary folder, so an
# interrupted download never looks cached).
deb() {
  local found
  found=$(newest_deb "$1")
  if [ -z "$found" ]; then
    mkdir -p "$cache"
    local tmp
    tmp=$(mktemp -d "$cache/.download.XXXXXX")
    if ! (cd "$tmp" && apt-get download -q "$1" >&2) && ! { refresh_lists && (cd "$tmp" && apt-get download -q "$1" >&2); }; then
      rm -rf "$tmp"
      fail "apt-get download $1 failed (are the package lists there? apt-get update)"
    fi
    mv "$tmp"/*.deb "$cache/"
    rm -rf "$tmp"
    found=$(newest_deb "$1")
  fi
  [ -n "$found" ] || fail "no .deb for $1 in $cache"
  echo "$found"
}

# The kernel package linux-image-amd64 depends on today; without package lists, the newest one cached.
kernel_of_meta() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1 || true; }
kernel_pkg=$(kernel_of_meta)
if [ -z "$kernel_pkg" ] && [ -z "$(newest_deb 'linux-image-[0-9]*-amd64')" ] && refresh_lists; then kernel_pkg=$(kernel_of_meta); fi
if [ -z "$kernel_pkg" ]; then
  cached=$(newest_deb 'linux-image-[0-9]*-amd64')
  [ -n "$cached" ] || fail "cannot tell which kernel linux-image-amd64 depends on (apt-get update first)"
  kernel_pkg=$(basename "$cached" | cut -d_ -f1)
fi
kernel_deb=$(deb "$kernel_pkg")
busybox_deb=$(deb busybox-static)
# The SSH server and the shared libraries it loads, from Debian's packages (the C library among them).
ssh_pkgs=(dropbear-bin libc6 libcrypt1 libtomcrypt1 libtommath1 libgmp10 zlib1g)
ssh_debs=()
for pkg in "${ssh_pkgs[@]}"; do ssh_debs+=("$(deb "$pkg")"); done

dpkg-deb -x "$kernel_deb" "$work/kernel"
dpkg-deb -x "$busybox_deb" "$work/busybox"
for d in "${ssh_debs[@]}"; do dpkg-deb -x "$d" "$work/ssh"; done
kernel_dirs=("$work/kernel/lib/modules/"*)
[ ${#kernel_dirs[@]} -eq 1 ] || fail "expected one kernel in $kernel_deb, found ${#kernel_dirs[@]}"
kver=$(basename "${kernel_dirs[0]}")
vmlinuz=$work/kernel/boot/vmlinuz-$kver
busybox=$work/busybox/bin/busybox
[ -f "$vmlinuz" ] || fail "$kernel_deb has no /boot/vmlinuz-$kver"
[ -x "$busybox" ] || fail "$busybox_deb has no /bin/busybox"

# Modules: each listed one after the modules its .modinfo "depends" names, each once.
declare -A module_file=() added=()
while IFS= read -r f; do
  name=${f##*/}
  name=${name%.ko}
  module_file[${name//-/_}]=$f
done < <(find "${kernel_dirs[0]}/kernel" -name '*.ko')
order=()
add_module() {
  local name=${1//-/_} file dep
  [ -n "${added[$name]:-}" ] && return 0
  added[$name]=1
  file=${module_file[$name]:-}
  if [ -z "$file" ]; then
    grep -q "/$name\.ko\$" "${kernel_dirs[0]}/modules.builtin" && return 0
    fail "kernel $kver has no module $name"
  fi
  for dep in $(tr '\0' '\n' <"$file" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' '); do
    add_module "$dep"
  done
  order+=("$name")
}
while read -r line; do
  line=${line%%#*}
  [ -n "${line// /}" ] && add_module "${line// /}"
done <"$here/modules"

# The initramfs: busybox with a link per applet, the boot files, the modules; /init is busybox init.
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib/modules,etc,dev,proc,sys,run,tmp,root,mnt,var/log}
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
cp -R "$here/rootfs/." "$root/"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list-full); do
  [ -e "$root/$applet" ] || [ -L "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
ln -s /bin/busybox "$root/init"

# dropbear and dropbearkey, with the libraries the dynamic loader resolves for them from the extracted
# packages (never from this machine's own /lib): anything it finds only outside them fails the build.
libdir=$work/ssh/lib/x86_64-linux-gnu
[ -d "$work/ssh/usr/lib/x86_64-linux-gnu" ] && libpath=$libdir:$work/ssh/usr/lib/x86_64-linux-gnu || libpath=$libdir
loader=$work/ssh/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
[ -x "$loader" ] || fail "libc6 has no ld-linux-x86-64.so.2"
mkdir -p "$root/lib/x86_64-linux-gnu" "$root/lib64" "$root/etc/dropbear"
cp "$work/ssh/usr/sbin/dropbear" "$root/usr/sbin/dropbear"
cp "$work/ssh/usr/bin/dropbearkey" "$root/usr/bin/dropbearkey"
for bin in "$root/usr/sbin/dropbear" "$root/usr/bin/dropbearkey"; do
  while read -r soname path; do
    case "$path" in
      "$work/ssh/"*) cp -L "$path" "$root/lib/x86_64-linux-gnu/$soname" ;;
      *) fail "$(basename "$bin") needs $soname, which the packages ${ssh_pkgs[*]} do not provide (found: ${path:-nothing})" ;;
    esac
  done < <("$loader" --library-path "$libpath" --list "$bin" | awk '$1 !~ /^\// && $2 == "=>" { print $1, ($3 == "not" ? "" : $3) }')
done
cp -L "$loader" "$root/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/lib64/ld-linux-x86-64.so.2"
for name in "${order[@]}"; do
  cp "${module_file[$name]}" "$root/lib/modules/$name.ko"
done
printf '%s\n' "${order[@]}" >"$root/etc/modules"

# newc NAME MODE MAJOR MINOR: one cpio "newc" header with no data. The console device node is written
# this way because making it with mknod needs root; the kernel reads concatenated archives.
newc() {
  local namesize=$((${#1} + 1))
  printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
    $((0x1000 + $3 * 256 + $4)) $((8#$2)) 0 0 1 0 0 0 0 "$3" "$4" "$namesize" 0
  printf '%s\0' "$1"
  head -c $(((4 - (110 + namesize) % 4) % 4)) /dev/zero
}
{
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet)
  newc dev/console 020600 5 1
  newc 'TRAILER!!!' 0 0 0
} | gzip -9 -n >"$work/initrd.gz"

# The boot partition: FAT16 whose boot sector knows it starts at sector $part_start, with syslinux.
part=$work/part.img
mkfs.fat -F 16 -n ASTER-TINY -h "$part_start" -C "$part" $(((disk_mib - 1) * 1024)) >/dev/null
syslinux --install "$part"
mcopy -i "$part" "$vmlinuz" ::/vmlinuz
mcopy -i "$part" "$work/initrd.gz" ::/initrd.gz
mcopy -i "$part" "$here/syslinux.cfg" ::/syslinux.cfg

# The disk: a DOS partition table with one bootable FAT16 partition, syslinux's MBR code, the partition.
disk=$work/disk.raw
truncate -s "${disk_mib}M" "$disk"
echo "start=$part_start, type=6, bootable" | sfdisk --quiet --label dos "$disk"
dd if="$mbr" of="$disk" bs=440 count=1 conv=notrunc status=none
dd if="$part" of="$disk" bs=512 seek="$part_start" conv=notrunc status=none
qemu-img convert -f raw -O qcow2 "$disk" "$work/disk.qcow2"
mv -f "$work/disk.qcow2" "$out"

echo "aster-tiny: kernel $kver ($(basename "$kernel_deb")), $(basename "$busybox_deb")"
echo "aster-tiny: modules ${order[*]}"
echo "aster-tiny: ssh $(basename "${ssh_debs[0]}") ($(cd "$root/lib/x86_64-linux-gnu" && ls | tr '\n' ' '))"
echo "aster-tiny: initramfs $(stat -c %s "$work/initrd.gz") bytes, image $(stat -c %s "$out") bytes, virtual ${disk_mib} MiB"
