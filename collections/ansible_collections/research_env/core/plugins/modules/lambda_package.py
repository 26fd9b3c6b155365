#!/usr/bin/python
# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lambda_package
short_description: Pack a directory into a reproducible zip file for a Lambda function
version_added: 0.1.0
description:
  - Writes the files under O(src) into the zip file O(dest) so that the same files always give the
    same bytes, whatever their timestamps, owners or the order the file system lists them in.
  - M(amazon.aws.lambda) uploads new code when the SHA-256 of the zip file differs from the function's
    C(CodeSha256). A zip made by M(community.general.archive) holds each file's modification time, so
    a fresh checkout of unchanged code would redeploy the function; this module's zip does not.
  - Entries are sorted by path, dated 1980-01-01 00:00, mode 0644 (0755 when the file is executable),
    deflated at level 9. Directories are not stored; C(__pycache__) directories and C(*.pyc) files
    are left out, as are the patterns in O(exclude).
  - O(dest) is rewritten only when its bytes would change. Check mode is supported.
options:
  src:
    description:
      - The directory whose files go into the zip file, at the root of the archive.
    type: path
    required: true
  dest:
    description:
      - The zip file to write. Its directory must exist.
    type: path
    required: true
  exclude:
    description:
      - More file name patterns (C(fnmatch), matched against the path relative to O(src)) to leave out.
    type: list
    elements: str
    default: []
author:
  - research-env contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Pack the function's code
  research_env.core.lambda_package:
    src: "{{ research_env_root }}/lambda/image_pipeline"
    dest: "{{ artifacts_dir }}/image_pipeline.zip"
  register: package

- name: Deploy it (only when the code changed)
  amazon.aws.lambda:
    name: researchenv-image-pipeline
    zip_file: "{{ package.dest }}"
"""

RETURN = r"""
dest:
  description: The zip file.
  returned: always
  type: str
files:
  description: The paths stored, in the order they are stored.
  returned: always
  type: list
  elements: str
  sample: [handler.py]
code_sha256:
  description: The base64 SHA-256 of the zip file, as Lambda reports it in C(CodeSha256).
  returned: always
  type: str
size:
  description: The size of the zip file in bytes.
  returned: always
  type: int
"""

import base64
import fnmatch
import hashlib
import io
import os
import stat
import tempfile
import zipfile

from ansible.module_utils.basic import AnsibleModule

FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def collect(src: str, exclude: list[str]) -> list[str]:
    """The files under src, relative and sorted; never __pycache__ or *.pyc."""
    found = []
    for root, dirs, files in os.walk(src):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), src).replace(os.sep, "/")
            if name.endswith(".pyc") or any(fnmatch.fnmatch(rel, pattern) for pattern in exclude):
                continue
            found.append(rel)
    return sorted(found)


def build(src: str, files: list[str]) -> bytes:
    """The zip file's bytes: same files, same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for rel in files:
            path = os.path.join(src, rel)
            executable = os.stat(path).st_mode & stat.S_IXUSR
            info = zipfile.ZipInfo(rel, date_time=FIXED_DATE)
            info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so that the mode bits are read
            with open(path, "rb") as handle:
                archive.writestr(info, handle.read(), compresslevel=9)
    return buffer.getvalue()


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "src": {"type": "path", "required": True},
            "dest": {"type": "path", "required": True},
            "exclude": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    src, dest = module.params["src"], module.params["dest"]
    if not os.path.isdir(src):
        module.fail_json(msg=f"src: {src} is not a directory")
    files = collect(src, module.params["exclude"])
    if not files:
        module.fail_json(msg=f"src: {src} holds no file to pack")
    data = build(src, files)
    try:
        with open(dest, "rb") as handle:
            changed = handle.read() != data
    except FileNotFoundError:
        changed = True
    if changed and not module.check_mode:
        directory = os.path.dirname(os.path.abspath(dest))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".lambda_package-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    module.exit_json(
        changed=changed,
        dest=dest,
        files=files,
        code_sha256=base64.b64encode(hashlib.sha256(data).digest()).decode(),
        size=len(data),
    )


if __name__ == "__main__":
    main()
