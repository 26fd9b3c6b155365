# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the pip bootstrap script ansible-test downloads from ci-files.testing.ansible.com.

ansible-test makes the virtualenvs of the sanity tests without pip and runs that script in each one
(`python get_pip.py <packages>`, e.g. pip==24.2) to put pip in. That host is not reachable here, and
ansible-test's documented workaround is a copy of the script in ~/.ansible/test/cache
(https://github.com/ansible/ansible/issues/77304). This copy does the same with what every CPython
carries: pip from ensurepip, then `pip install <packages>` from PyPI. scripts/sanity.sh puts it there.
"""

from __future__ import annotations

import subprocess
import sys

# get-pip.py's own options: leave out what ensurepip would add.
LEAVE_OUT = {"--no-setuptools": "setuptools", "--no-wheel": "wheel"}

# In a process of its own: ensurepip turns pip's configuration off in its process (PIP_CONFIG_FILE=/dev/null), and
# the install from PyPI below needs it (the machine's certificate authority, for one).
subprocess.run([sys.executable, "-m", "ensurepip"], check=True)
args = [a for a in sys.argv[1:] if a not in LEAVE_OUT]
pip = [sys.executable, "-m", "pip"]
subprocess.run([*pip, "install", *args], check=True)
unwanted = [LEAVE_OUT[a] for a in sys.argv[1:] if a in LEAVE_OUT]
if unwanted:
    subprocess.run([*pip, "uninstall", "--yes", "--quiet", *unwanted], check=True)
