#!/usr/bin/env python3
"""Checks every answer the tests received against the contract.

The tests' gateway writes one JSON line per answer (CARTWHEEL_RESPONSE_LOG: method, route key,
status, content type, body). Each must be a status its operation in api/openapi.yaml lists, in a
content type it lists, with a body that validates against that schema (JSON Schema 2020-12, as
OpenAPI 3.1 uses it). Answers of the $default route (404/405 for unknown paths) are outside the
contract, as it says.

usage: check_responses.py api/openapi.yaml responses.jsonl
"""
import collections
import json
import sys

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = "urn:cartwheel:openapi"


def escape(token):
    return token.replace("~", "~0").replace("/", "~1")


def follow(doc, pointer):
    node = doc
    for token in pointer.lstrip("/").split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def response_of(doc, route, status):
    """The response object (and its JSON pointer) the contract gives `route` for `status`."""
    method, path = route.split(" ", 1)
    operation = doc["paths"].get(path, {}).get(method.lower())
    if operation is None:
        return None, None, "is not in the contract"
    base = f"/paths/{escape(path)}/{method.lower()}/responses"
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in operation["responses"]:
            pointer = f"{base}/{key}"
            response = follow(doc, pointer)
            while "$ref" in response:
                pointer = response["$ref"].lstrip("#")
                response = follow(doc, pointer)
            return response, pointer, None
    return None, None, f"answered {status}, which the contract does not list"


def violation(doc, validators, answer):
    response, pointer, missing = response_of(doc, answer["route"], answer["status"])
    if missing:
        return missing
    content = response.get("content")
    if not content:
        return None
    media_type = (answer["contentType"] or "").split(";")[0].strip()
    if media_type not in content:
        return f"answered {answer['status']} as {media_type or 'no content type'}, not {sorted(content)}"
    if "schema" not in content[media_type]:
        return None
    schema_pointer = f"{pointer}/content/{escape(media_type)}/schema"
    if schema_pointer not in validators:
        registry = Registry().with_resource(ROOT, Resource(contents=doc, specification=DRAFT202012))
        validators[schema_pointer] = Draft202012Validator(
            {"$ref": f"{ROOT}#{schema_pointer}"}, registry=registry)
    try:
        body = json.loads(answer["body"])
    except json.JSONDecodeError:
        return f"answered {answer['status']} with a body that is not JSON"
    errors = sorted(validators[schema_pointer].iter_errors(body), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(body)"
        return f"answered {answer['status']}: at {where}: {errors[0].message[:300]}"
    return None


def main(spec_path, log_path):
    with open(spec_path) as spec:
        doc = yaml.safe_load(spec)
    validators, found = {}, collections.OrderedDict()
    checked, routes, statuses = 0, set(), collections.Counter()
    with open(log_path) as log:
        for line in log:
            answer = json.loads(line)
            statuses[answer["status"]] += 1
            if answer["status"] >= 500:
                found.setdefault(f"{answer['route']} answered {answer['status']}", answer["body"][:300])
            if answer["route"] == "$default":
                continue
            checked += 1
            routes.add(answer["route"])
            problem = violation(doc, validators, answer)
            if problem:
                found.setdefault(f"{answer['route']} {problem}", answer["body"][:300])
    by_status = ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))
    print(f"requests answered: {sum(statuses.values())} ({by_status})")
    print(f"contract: {checked} answers of {len(routes)} routes checked against {spec_path}: "
          f"{len(found)} kinds of violation (a 5xx is one)")
    for problem, body in list(found.items())[:30]:
        print(f"  {problem}\n    body: {body}")
    return 1 if found or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
