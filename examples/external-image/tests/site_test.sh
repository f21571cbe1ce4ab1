#!/bin/sh
# Checks the site as it reached the build (run in the `test` stage from /src).
passed=0 failed=0
check() { # check DESCRIPTION COMMAND...
  desc=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $desc"; else failed=$((failed + 1)); echo "FAIL $desc"; fi
}
check "index.html exists" test -f site/index.html
check "index.html has the greeting" grep -q 'hello from busybox httpd' site/index.html
check ".dockerignore kept site/drafts out" test ! -e site/drafts
check ".dockerignore kept *.log out" test ! -e site/notes.log
# FAIL_TEST=1 (a build arg of the test stage) makes the suite fail on purpose.
check "deliberate failure switch" test "${FAIL_TEST:-0}" != 1
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
