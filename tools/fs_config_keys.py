"""Writes the list of configuration keys that Flask-Security-Too knows.

Rampart reports `SECURITY_*` keys that are neither its own nor Flask-Security's (likely typos),
and warns about Flask-Security keys it does not implement. Run with the real package installed:
    pip install "flask-security-too==5.9.2"
    python3 tools/fs_config_keys.py > crates/rampart/src/config/fs_keys.txt
"""

import flask_security.core as core

keys = {"SECURITY_" + k for k in core._default_config}
keys |= {"SECURITY_MSG_" + k for k in core._default_messages}
print("\n".join(sorted(keys)))
