"""Responses checked against web/openapi.json (OpenAPI 3.0) with
jsonschema, for the Python integration tests."""
import json
import re
import urllib.parse

import jsonschema


def _nullable_to_json_schema(o):
    """OpenAPI 3.0's "nullable: true" is JSON Schema's type [T, "null"],
    or, beside a $ref or allOf, "anyOf: [it, null]"."""
    if isinstance(o, dict):
        for v in o.values():
            _nullable_to_json_schema(v)
        if o.get("nullable") is True:
            if isinstance(o.get("type"), str):
                o["type"] = [o["type"], "null"]
            elif "type" not in o:
                inner = {k: v for k, v in o.items() if k != "nullable"}
                o.clear()
                o["anyOf"] = [inner, {"type": "null"}]
    elif isinstance(o, list):
        for v in o:
            _nullable_to_json_schema(v)


class Spec:
    def __init__(self, path):
        self.spec = json.load(open(path))
        _nullable_to_json_schema(self.spec)

    def schema_for(self, path, method, status):
        """The response schema documented for this request; False when
        the status is not documented, None when the body is not JSON."""
        for templ, item in self.spec["paths"].items():
            rx = "^" + re.sub(r"\{[^}]+\}", r"[^/]+", templ) + "$"
            if re.match(rx, path) and method.lower() in item:
                resp = item[method.lower()]["responses"].get(str(status))
                if resp is None:
                    return False
                content = resp.get("content", {}).get("application/json")
                return content["schema"] if content else None
        return False

    def problem(self, path, method, status, body):
        """None, or what is wrong with this response."""
        s = self.schema_for(urllib.parse.urlsplit(path).path, method, status)
        if s is False:
            return "status %d is not documented for %s %s" % (status, method,
                                                              path)
        if s is None:
            return None
        try:
            jsonschema.validate(body, {**s,
                                       "components": self.spec["components"]})
        except jsonschema.ValidationError as e:
            return "schema: %s" % e.message
        return None
