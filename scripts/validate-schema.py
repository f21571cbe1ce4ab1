#!/usr/bin/env python3
"""Validate specs against docs/slipway.schema.json with a real JSON Schema validator.

    scripts/validate-schema.py SCHEMA --good FILE... --bad FILE...

Every --good file must validate, every --bad file must fail. Exit 1 on any mismatch, 2 when the
validator is missing (python3 -m pip install jsonschema pyyaml, or apt-get install
python3-jsonschema python3-yaml). Prints one line per file.
"""
import json, sys

try:
    import jsonschema, yaml
except ImportError as e:
    print(f"validate-schema: {e}: install python3-jsonschema and python3-yaml", file=sys.stderr)
    sys.exit(2)

args = sys.argv[1:]
schema = json.load(open(args[0]))
jsonschema.Draft7Validator.check_schema(schema)
validator = jsonschema.Draft7Validator(schema)
mode, bad_count = None, 0
for a in args[1:]:
    if a in ("--good", "--bad"):
        mode = a
        continue
    doc = yaml.safe_load(open(a))
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    if mode == "--good" and errors:
        bad_count += 1
        print(f"FAIL {a}: {errors[0].message} at {'/'.join(map(str, errors[0].path))}")
    elif mode == "--bad" and not errors:
        bad_count += 1
        print(f"FAIL {a}: validates, but must not")
    else:
        why = f": {errors[0].message}" if errors else ""
        print(f"ok   {mode[2:]} {a}{why}")
sys.exit(1 if bad_count else 0)
