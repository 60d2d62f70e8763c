#!/usr/bin/env bash
# Installs the Debian packages the test suite uses but pip cannot provide: `chromium`, the
# headless browser that drives the demo-page test (Playwright uses the system browser; no
# browser is downloaded at run time). Best effort on purpose: when it cannot install (not root,
# no apt, no network) it says why and exits 0, and the browser test then skips with a reason
# instead of breaking CI.
set -u

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "install_system_deps: chromium missing and not root; the demo-page browser test will skip" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_system_deps: chromium missing and no apt-get; the demo-page browser test will skip" >&2
    exit 0
fi
echo "install_system_deps: installing Debian chromium (headless browser for the demo-page test)"
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
        >/tmp/tagger-install-system-deps.log 2>&1; then
    echo "install_system_deps: could not install chromium (see /tmp/tagger-install-system-deps.log);" \
         "the demo-page browser test will skip" >&2
fi
exit 0
