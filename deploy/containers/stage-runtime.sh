#!/bin/sh
# Runs in the build stage of services.Containerfile after `npm prune --omit=dev`: copies
# what the services run into $1 - common/ (package.json, production node_modules, every
# library's package.json, dist and data, the HEALTHCHECK probes) and apps/<app>/ (its
# package.json, dist and, for the CNI plugin, its launcher and network configuration) -
# without tests, benchmarks or TypeScript declarations.
set -eu
out="$1"
mkdir -p "$out/common/libs" "$out/common/tools/dist/images" "$out/apps"
cp package.json "$out/common/"
cp -a node_modules "$out/common/"
for d in libs/*; do
  mkdir -p "$out/common/$d"
  cp "$d/package.json" "$out/common/$d/"
  cp -a "$d/dist" "$out/common/$d/"
  [ ! -d "$d/descriptors" ] || cp -a "$d/descriptors" "$out/common/$d/"
done
cp tools/package.json "$out/common/tools/"
cp tools/dist/images/health-probe.js tools/dist/images/http-probe.js "$out/common/tools/dist/images/"
for d in apps/*; do
  mkdir -p "$out/$d"
  cp "$d/package.json" "$out/$d/"
  cp -a "$d/dist" "$out/$d/"
  for extra in bin conf; do [ ! -d "$d/$extra" ] || cp -a "$d/$extra" "$out/$d/"; done
done
find "$out" -path '*/node_modules' -prune -o \( -name '*.test.*' -o -name '*.bench.*' -o -name '*.d.ts' -o -name '*.d.ts.map' -o -name '*.tsbuildinfo' -o -name 'testing' -o -name 'fixtures' \) -print \
  | xargs rm -rf
