#!/usr/bin/env bash
# Build a LOCAL STAND-IN for AWS Lambda's Python 3.13 runtime, for the AWS emulator (moto server) to run
# Lambda functions in for real: research-env-lambda:python3.13 (moto appends ":<runtime>" to
# MOTO_DOCKER_LAMBDA_IMAGE), and research-env-lambda-helper:latest, the image moto's code-volume step
# runs `sleep 100` in (moto hard-codes busybox there; scripts/moto_server.py maps it to this one).
# Debian trixie (Python 3.13) from Debian's mirror via debootstrap + docker import, with Debian's
# boto3 (Lambda's runtime ships boto3) and a bootstrap that speaks moto's contract: the command is
# [handler, event JSON], the code is in /var/task, the last line of stdout is the result, a non-zero
# exit a function error. Neither image is ever tagged with an official name.
# Built once: images whose recipe label matches this script are reused.
# Environment: RESEARCH_ENV_LAMBDA_IMAGE (repository name, no tag; default research-env-lambda),
# RESEARCH_ENV_LAMBDA_HELPER_IMAGE (default research-env-lambda-helper:latest), DEBIAN_MIRROR.
set -euo pipefail

runtime=python3.13
repo_name=${RESEARCH_ENV_LAMBDA_IMAGE:-research-env-lambda}
helper=${RESEARCH_ENV_LAMBDA_HELPER_IMAGE:-research-env-lambda-helper:latest}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
here=$(cd "$(dirname "$0")" && pwd)
recipe=$(sha256sum "$here/lambda-image.sh" | cut -c1-16)
image=$repo_name:$runtime
packages=python3,python3-boto3,ca-certificates
say() { echo "lambda-image: $*"; }

case ${repo_name##*/} in
  *:*) say "RESEARCH_ENV_LAMBDA_IMAGE is a repository name without a tag (the tag is the runtime): $repo_name" >&2
    exit 1 ;;
esac
for name in "$image" "$helper"; do
  case $name in
    busybox|busybox:*|*/busybox|*/busybox:*|public.ecr.aws/*|amazon/*|lambci/*|mlupin/*|ghcr.io/*)
      say "refusing to tag a stand-in with an official image name ($name)" >&2; exit 1 ;;
  esac
done

# An image that does not exist has no label: empty, so it is built (inspect fails for it, not the script).
label() { docker image inspect --format '{{ index .Config.Labels "research-env.recipe" }}' "$1" 2>/dev/null || true; }

if [ "$(label "$image")" = "$recipe" ] && [ "$(label "$helper")" = "$recipe" ]; then
  say "$image and $helper are up to date (recipe $recipe)"
  exit 0
fi

started=$SECONDS
# The images this build replaces: removed at the end unless the build gave the same ones back.
# None yet on a first build: inspect fails for a missing image, and that is not an error here.
old_ids=$(docker image inspect --format '{{.Id}}' "$helper" "$image" 2>/dev/null || true)
ctx=$(mktemp -d /tmp/research-env-lambda.XXXXXX)
root='' rootfs=''
# Clean-up on any exit: the intermediate rootfs image may not exist (yet), which is fine.
trap 'rm -rf "$ctx" ${root:+"$root"}; [ -z "$rootfs" ] || docker image rm "$rootfs" >/dev/null 2>&1 || true' EXIT

if [ "$(label "$image")" != "$recipe" ]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    else
      say "debootstrap is needed (apt-get install debootstrap) and we are not root" >&2
      exit 1
    fi
  fi
  root=$(mktemp -d /tmp/research-env-lambda-rootfs.XXXXXX)
  debootstrap --variant=minbase --include="$packages" trixie "$root" "$mirror" >"$ctx/debootstrap.log" 2>&1 || {
    tail -n 30 "$ctx/debootstrap.log" >&2
    say "debootstrap failed" >&2
    exit 1
  }
  # What a function never needs: package caches, documentation, manuals, translations.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
  rootfs=research-env-lambda-rootfs:$recipe
  tar -C "$root" -c . | docker import - "$rootfs" >/dev/null

  # The bootstrap: what AWS's runtime interface client does for one invocation, in moto's contract.
  cat >"$ctx/bootstrap" <<'PY'
#!/usr/bin/python3
"""research-env's stand-in for the bootstrap of AWS Lambda's Python runtime, in moto's contract.

moto runs the image with the command [handler, event JSON] and the function's code in /var/task; it
takes the last line of stdout as the result, a non-zero exit as a function error, and puts stderr then
stdout into the log group /aws/lambda/<name>. So the function's own output (stdout included) goes to
stderr here, in order, and stdout carries the result line only. As on AWS: the root logger has a
handler (so logging.basicConfig does nothing) with Lambda's format, at WARNING unless
AWS_LAMBDA_LOG_LEVEL says otherwise; START/END/REPORT lines; the error shapes and names of AWS's
runtime (Runtime.ImportModuleError, Runtime.HandlerNotFound, ...); the function's timeout enforced.
"""

import decimal
import importlib
import json
import logging
import math
import os
import resource
import sys
import threading
import time
import traceback
import uuid

TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
LOG_LEVELS = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
              "ERROR": logging.ERROR, "FATAL": logging.CRITICAL}
LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"


class LambdaContext:
    """The context object a handler gets (the attributes AWS documents)."""

    def __init__(self, request_id, deadline):
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        region = env.get("AWS_REGION", "us-east-1")
        account = env.get("AWS_ACCOUNT_ID", "123456789012")  # moto's default account; not passed by moto
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{self.function_name}"
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/", time.gmtime()) + f"[{self.function_version}]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record):
        record.aws_request_id = self.request_id
        return True


class Report:
    """START/END/REPORT lines and the one result line; the timeout thread and the main thread share it."""

    def __init__(self, request_id, result_stream):
        self.request_id = request_id
        self.result_stream = result_stream
        self.lock = threading.Lock()
        self.done = False
        self.init_ms = 0.0
        self.started = time.monotonic()
        self.memory = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")

    def log(self, text):
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def finish(self, result, ok, status=""):
        with self.lock:
            if self.done:  # the other thread is reporting: it ends the process
                threading.Event().wait()
            self.done = True
            ms = (time.monotonic() - self.started) * 1000
            used = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            self.log(f"END RequestId: {self.request_id}")
            self.log(
                f"REPORT RequestId: {self.request_id}\tDuration: {ms:.2f} ms\tBilled Duration: {math.ceil(ms)} ms"
                f"\tMemory Size: {self.memory} MB\tMax Memory Used: {used} MB\tInit Duration: {self.init_ms:.2f} ms"
                + (f"\tStatus: {status}" if status else "")
            )
            self.result_stream.write(result + "\n")
            self.result_stream.flush()
        os._exit(0 if ok else 1)


def error_result(exc, error_type=None, message=None, request_id=""):
    """AWS's error payload, and its log record: "[ERROR] Type: message" with the traceback."""
    error_type = error_type or type(exc).__name__
    # AWS gives no stack for its runtime's own errors (import, handler name, marshalling).
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    stack = [] if error_type.startswith("Runtime.") else traceback.format_list(frames)
    message = str(exc) if message is None else message
    sys.stderr.write(f"[ERROR] {error_type}: {message}\nTraceback (most recent call last):\n{''.join(stack)}")
    sys.stderr.flush()
    return json.dumps({"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack})


def load_handler(name):
    try:
        module_name, function_name = name.rsplit(".", 1)
    except ValueError as exc:
        raise InitError(exc, "Runtime.MalformedHandlerName", f"Bad handler '{name}': {exc}") from None
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InitError(exc, "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from None
    except SyntaxError as exc:
        raise InitError(exc, "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}") from None
    try:
        return getattr(module, function_name)
    except AttributeError as exc:
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        raise InitError(exc, "Runtime.HandlerNotFound", message) from None


class InitError(Exception):
    def __init__(self, cause, error_type, message):
        super().__init__(message)
        self.cause, self.error_type, self.message = cause, error_type, message


def encode(value):
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def main(argv):
    # stdout is for the result line only: the function's prints go where its stderr goes, in order.
    result_stream = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout.reconfigure(line_buffering=True)
    if len(argv) < 2:
        sys.stderr.write("usage: research-env-lambda-bootstrap HANDLER [EVENT_JSON]\n")
        return 2
    request_id = str(uuid.uuid4())
    report = Report(request_id, result_stream)
    timeout = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT") or 3)

    request_filter = RequestIdFilter()
    request_filter.request_id = request_id
    log_handler = logging.StreamHandler(sys.stderr)
    log_handler.setFormatter(logging.Formatter(LOG_FORMAT, "%Y-%m-%dT%H:%M:%S"))
    log_handler.formatter.converter = time.gmtime
    log_handler.addFilter(request_filter)
    root = logging.getLogger()
    root.addHandler(log_handler)
    root.setLevel(LOG_LEVELS.get(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper(), logging.WARNING))

    sys.path[:0] = [TASK_ROOT, "/opt/python/lib/python3.13/site-packages", "/opt/python"]
    sys.path[:] = [p for p in sys.path if p != os.path.dirname(os.path.abspath(__file__))]
    init_started = time.monotonic()
    try:
        handler, init_error = load_handler(argv[1]), None
    except InitError as exc:
        handler, init_error = None, exc
    except Exception as exc:  # the module's own code failed while it was imported
        handler, init_error = None, exc
    report.init_ms = (time.monotonic() - init_started) * 1000

    report.started = time.monotonic()
    report.log(f"START RequestId: {request_id} Version: {os.environ.get('AWS_LAMBDA_FUNCTION_VERSION', '$LATEST')}")
    if init_error is not None:
        if isinstance(init_error, InitError):
            result = error_result(init_error.cause, init_error.error_type, init_error.message, request_id)
        else:
            result = error_result(init_error, request_id=request_id)
        report.finish(result, ok=False, status="error")

    def time_out():
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
        message = f"{stamp} {request_id} Task timed out after {timeout:.2f} seconds"
        report.log(message)
        result = json.dumps({"errorMessage": message, "errorType": "Sandbox.Timedout"})
        report.finish(result, ok=False, status="timeout")

    timer = threading.Timer(timeout, time_out)
    timer.daemon = True
    timer.start()
    try:
        event = json.loads(argv[2]) if len(argv) > 2 else {}
        answer = handler(event, LambdaContext(request_id, report.started + timeout))
    except Exception as exc:
        report.finish(error_result(exc, request_id=request_id), ok=False, status="error")
    try:
        result = json.dumps(answer, default=encode)
    except (TypeError, ValueError) as exc:
        message = f"Unable to marshal response: {exc}"
        report.finish(error_result(exc, "Runtime.MarshalError", message, request_id), ok=False, status="error")
    report.finish(result, ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
PY

  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $rootfs
ENV LANG=C.UTF-8 TZ=:UTC LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime \\
    PATH=/usr/local/bin:/usr/bin:/bin
COPY bootstrap /usr/local/bin/research-env-lambda-bootstrap
RUN chmod 0755 /usr/local/bin/research-env-lambda-bootstrap \\
 && mkdir -p /var/task /var/runtime /opt \\
 && echo 'sbx_user1051:x:993:990::/tmp:/usr/sbin/nologin' >>/etc/passwd && echo 'sbx_user1051:x:990:' >>/etc/group \\
 && python3 -c 'import boto3, sys; assert sys.version_info[:2] == (3, 13), sys.version'
WORKDIR /var/task
# Functions run as an unprivileged user, as on AWS: only /tmp is theirs to write.
USER sbx_user1051
ENTRYPOINT ["/usr/local/bin/research-env-lambda-bootstrap"]
LABEL research-env.recipe=$recipe research-env.stand-in-for=public.ecr.aws/lambda/python:3.13
DOCKERFILE
  if ! docker build -q --force-rm -t "$image" "$ctx" >"$ctx/build.log" 2>&1; then
    cat "$ctx/build.log" >&2
    exit 1
  fi
fi

# The helper only needs `sleep`; it shares every layer with the runtime image.
helper_ctx=$ctx/helper
mkdir -p "$helper_ctx"
cat >"$helper_ctx/Dockerfile" <<DOCKERFILE
FROM $image
USER root
ENTRYPOINT []
CMD ["sleep", "100"]
LABEL research-env.recipe=$recipe research-env.stand-in-for=busybox
DOCKERFILE
if ! docker build -q --force-rm -t "$helper" "$helper_ctx" >"$ctx/helper-build.log" 2>&1; then
  cat "$ctx/helper-build.log" >&2
  exit 1
fi

new_ids=$(docker image inspect --format '{{.Id}}' "$helper" "$image")
# The images replaced go; one still used by a container (a lab function running) stays, untagged.
for id in $old_ids; do
  grep -qx "$id" <<<"$new_ids" || docker image rm "$id" >/dev/null 2>&1 || true
done
say "built $image and $helper in $((SECONDS - started)) s" \
  "($(docker image inspect --format '{{.Size}}' "$image" | awk '{printf "%d MB", $1/1e6}'))"
