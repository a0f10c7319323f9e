#!/usr/bin/env python3
"""Password hash vectors from the real Flask-Security-Too 5.9.2 / libpass.

Usage:
    gen_password_vectors.py [OUT.json]   generate the vectors (default: the committed file)
    gen_password_vectors.py check FILE   verify hashes produced elsewhere (Rampart) with
                                         Flask-Security; FILE is a JSON list of
                                         {"password", "hash", "salt" (null = single hash)}.
                                         Exit 0 when all verify, 1 otherwise.

Every hash is produced by Flask-Security's own ``hash_password`` inside a Flask app whose
``SECURITY_PASSWORD_HASH`` is the scheme under test, after ``PasswordUtil.normalize``
(NFKD), so the pre-hash (HMAC-SHA512 keyed by ``SECURITY_PASSWORD_SALT``), bcrypt's
truncation and the normalisation are exactly Flask-Security's. Each vector is re-checked
with ``verify_password`` before it is written.

Requires: pip install "flask-security-too[fsqla,common]==5.9.2" argon2-cffi bcrypt libpass zxcvbn
"""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path

from flask import Flask
import flask_security
import passlib
from flask_security import Security, UserDatastore
from flask_security.utils import hash_password, verify_password

SALT = "rampart-vector-salt"
DEFAULT_OUT = (
    Path(__file__).resolve().parents[2]
    / "crates/rampart-password/tests/vectors/password_vectors.json"
)

# Reduced cost for most vectors (same format); one vector per scheme keeps the defaults.
CHEAP_OPTIONS = {
    "bcrypt__rounds": 4,
    "sha512_crypt__rounds": 5000,  # 5000 is crypt's implicit default: no "rounds=" field
    "sha256_crypt__rounds": 5000,
    "pbkdf2_sha512__rounds": 1000,
    "pbkdf2_sha256__rounds": 1000,
}

SCHEMES = [
    "argon2",
    "bcrypt",
    "pbkdf2_sha512",
    "pbkdf2_sha256",
    "sha512_crypt",
    "sha256_crypt",
]

# (password as typed, wrong password, alternatives that must verify too)
PASSWORDS: list[tuple[str, str, list[str]]] = [
    ("password123", "password124", []),
    ("correct horse battery staple", "correct horse battery stapl", []),
    # NFKD: ligature fi, ANGSTROM SIGN, full-width digits all fold to plain forms.
    ("\ufb01nancial-\u212b-\uff12\uff10\uff12\uff14", "financial-A-2024", ["financial-\u00c5-2024"]),
    # Composed input; the decomposed spelling must verify as the same password.
    ("\u00c5ngstr\u00f6m caf\u00e9", "Angstrom cafe", ["A\u030angstro\u0308m cafe\u0301"]),
    ("\U0001f510 secret \U0001f980 p\u00e4ss", "\U0001f510 secret \U0001f980 pass", []),
]
# > 72 bytes: bcrypt truncation (of the raw password when single-hashed).
LONG = "x" * 72 + "-tail-that-bcrypt-ignores"
LONG_TWIN = "x" * 72 + "-another-tail"


class _User:
    """Just enough of a user model for Security.init_app (no database is touched)."""

    fs_uniquifier = None


class _Role:
    pass


def _security(app: Flask) -> None:
    Security(app, UserDatastore(_User, _Role))


def make_app(scheme: str, single: bool, options: dict | None = None) -> Flask:
    app = Flask(f"vectors-{scheme}-{single}")
    app.config.update(
        SECRET_KEY="vectors",
        SECURITY_PASSWORD_SALT=SALT,
        SECURITY_PASSWORD_HASH=scheme,
        SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS=options or {},
    )
    if single:
        app.config["SECURITY_PASSWORD_SINGLE_HASH"] = True
    _security(app)
    return app


def default_app() -> Flask:
    """Flask-Security with its defaults: decides needs_update (rehash on login)."""
    app = Flask("vectors-default")
    app.config.update(SECRET_KEY="vectors", SECURITY_PASSWORD_SALT=SALT)
    _security(app)
    return app


def check_verifies(app: Flask, password: str, hashed: str) -> bool:
    with app.app_context():
        norm = app.extensions["security"]._password_util.normalize(password)
        return bool(verify_password(norm, hashed))


FS_RAISES: set[str] = set()


def check_verifies_bcrypt_long(app: Flask, password: str, hashed: str) -> bool:
    """Flask-Security 5.9.2 with bcrypt 5 *raises* ValueError when verifying a raw
    (single-hash) password longer than 72 bytes, although hash_password truncates it.
    Record that, and check that the first 72 bytes (what was hashed) verify."""
    try:
        return check_verifies(app, password, hashed)
    except ValueError:
        FS_RAISES.add(hashed)
        cut = password.encode("utf-8")[:72].decode("utf-8", "ignore")
        return check_verifies(app, cut, hashed)


def vectors_for(scheme: str, single: bool, options: dict | None, passwords, defaults_app):
    app = make_app(scheme, single, options)
    out = []
    for password, wrong, alternatives in passwords:
        with app.app_context():
            norm = app.extensions["security"]._password_util.normalize(password)
            hashed = hash_password(norm)
        verifies = check_verifies_bcrypt_long if scheme == "bcrypt" else check_verifies
        assert verifies(app, password, hashed), (scheme, password)
        assert not verifies(app, wrong, hashed), (scheme, wrong)
        for alt in alternatives:
            assert verifies(app, alt, hashed), (scheme, alt)
        with defaults_app.app_context():
            needs_update = bool(defaults_app.extensions["security"].pwd_context.needs_update(hashed))
        out.append(
            {
                "scheme": scheme,
                "prehashed": not single,
                "salt": None if single else SALT,
                "password": password,
                "password_nfkd": unicodedata.normalize("NFKD", password),
                "hash": hashed,
                "wrong_password": wrong,
                "also_verifies": alternatives,
                "needs_rehash": needs_update,
                # True where Flask-Security itself raises (bcrypt, raw password > 72
                # bytes); Rampart truncates to 72 bytes as libpass does when hashing.
                "fs_verify_raises": hashed in FS_RAISES,
            }
        )
    return out


def generate(out_path: Path) -> None:
    defaults_app = default_app()
    vectors = []
    for scheme in SCHEMES:
        for single in (False, True):
            cheap = None if scheme == "argon2" else CHEAP_OPTIONS
            vectors += vectors_for(scheme, single, cheap, PASSWORDS, defaults_app)
            # bcrypt: > 72 bytes. Single hash: the raw password is truncated, so a
            # twin sharing the first 72 bytes verifies. Pre-hashed: the HMAC covers
            # the whole password, so the twin is a wrong password.
            long_alts = [LONG_TWIN] if (scheme == "bcrypt" and single) else []
            long_wrong = "x" * 71 if long_alts else LONG_TWIN
            vectors += vectors_for(
                scheme, single, cheap, [(LONG, long_wrong, long_alts)], defaults_app
            )
        # One vector with the scheme's default cost (format exactly as FS emits it).
        if scheme != "argon2":
            vectors += vectors_for(
                scheme, False, None, [("default-rounds-pw", "default-rounds-px", [])], defaults_app
            )
    # argon2 with non-default parameters: same scheme, but needs a rehash.
    vectors += vectors_for(
        "argon2",
        False,
        {"argon2__memory_cost": 19456, "argon2__rounds": 2, "argon2__parallelism": 1},
        [("owasp-params-pw", "owasp-params-px", [])],
        defaults_app,
    )
    doc = {
        "generator": "tools/vectors/gen_password_vectors.py",
        "flask_security": flask_security.__version__,
        "libpass": passlib.__version__,
        "prehash_salt": SALT,
        "normalize_form": "NFKD",
        "vectors": vectors,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(vectors)} vectors to {out_path}")


def check(path: Path) -> int:
    items = json.loads(path.read_text(encoding="utf-8"))
    failures = 0
    for item in items:
        salt = item.get("salt")
        app = Flask("check")
        app.config.update(SECRET_KEY="check", SECURITY_PASSWORD_SALT=salt)
        if salt is None:
            app.config["SECURITY_PASSWORD_SINGLE_HASH"] = True
        _security(app)
        try:
            verified = check_verifies(app, item["password"], item["hash"])
        except Exception as exc:  # a malformed hash raises in passlib
            print(f"FAIL: {item['hash']!r}: {exc!r}", file=sys.stderr)
            failures += 1
            continue
        if not verified:
            print(f"FAIL: {item['hash']!r} does not verify", file=sys.stderr)
            failures += 1
        wrong = item.get("wrong_password")
        if wrong is not None and check_verifies(app, wrong, item["hash"]):
            print(f"FAIL: wrong password verifies against {item['hash']!r}", file=sys.stderr)
            failures += 1
    print(f"checked {len(items)} hashes, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "check":
        sys.exit(check(Path(sys.argv[2])))
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
