"""Print the JSON schemas the frontend's TypeScript types are generated from.

`python scripts/gen_types.py protocol` prints one JSON schema holding the wire
protocol's ServerFrame and ClientFrame unions (app/protocol.py); `... openapi`
prints the FastAPI OpenAPI document (app/main.py). scripts/gen_types.sh turns them
into `frontend/src/lib/api/*.gen.ts`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import TypeAdapter

from app.protocol import ClientFrame, ServerFrame

Schema = dict[str, Any]


def _union_schema(adapter: TypeAdapter[Any], mode: str, title: str) -> tuple[Schema, Schema]:
    """The union's own schema (refs into `$defs`) and its `$defs`."""
    schema = adapter.json_schema(mode=mode)  # type: ignore[arg-type]
    defs: Schema = schema.pop("$defs", {})
    schema.pop("discriminator", None)
    schema["title"] = title
    return schema, defs


def _require(defs: Schema, names: list[str], *, every_field: bool) -> None:
    """Mark fields required: all of them (the server always sends them) or just `type`."""
    for name in names:
        model = defs[name]
        props = model.get("properties", {})
        wanted = list(props) if every_field else ["type"]
        required = list(model.get("required", []))
        extra = [key for key in wanted if key in props and key not in required]
        model["required"] = required + extra


def _untitle_fields(defs: Schema) -> None:
    """Drop field titles, so json2ts names only the models, not every field's type."""
    for model in defs.values():
        for prop in model.get("properties", {}).values():
            prop.pop("title", None)


def _refs(union: Schema) -> list[str]:
    return [item["$ref"].rsplit("/", 1)[-1] for item in union["oneOf"]]


def protocol_schema() -> Schema:
    """One schema whose `$defs` hold every frame plus the two unions."""
    server, server_defs = _union_schema(TypeAdapter(ServerFrame), "serialization", "ServerFrame")
    client, client_defs = _union_schema(TypeAdapter(ClientFrame), "validation", "ClientFrame")
    # Payload models nested in server frames (Usage, UsageSummary...) are serialized whole.
    _require(server_defs, sorted(server_defs), every_field=True)
    _require(client_defs, _refs(client), every_field=False)
    defs = {**server_defs, **client_defs, "ServerFrame": server, "ClientFrame": client}
    _untitle_fields(defs)
    return {
        "title": "WireProtocol",
        "description": "Frames of the chat socket (DESIGN §4), generated from app/protocol.py.",
        "type": "object",
        "properties": {
            "server": {"$ref": "#/$defs/ServerFrame"},
            "client": {"$ref": "#/$defs/ClientFrame"},
        },
        "additionalProperties": False,
        "$defs": dict(sorted(defs.items())),
    }


def openapi_schema() -> Schema:
    from app.main import create_app

    return create_app().openapi()


def main(argv: list[str]) -> int:
    kinds = {"protocol": protocol_schema, "openapi": openapi_schema}
    if len(argv) != 1 or argv[0] not in kinds:
        print(f"usage: gen_types.py {{{'|'.join(kinds)}}}", file=sys.stderr)
        return 2
    print(json.dumps(kinds[argv[0]](), indent=2, sort_keys=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
