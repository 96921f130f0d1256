"""/metrics, /healthz and /readyz (to be filled)."""

from fastapi import APIRouter

from tracker.web.context import Ctx

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz(ctx: Ctx) -> dict[str, str]:
    """The process answers."""
    return {"status": "ok", "mode": ctx.notes.get("mode", "")}
