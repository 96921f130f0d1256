"""/feeds: Atom of events and the ICS calendar (to be filled)."""

from fastapi import APIRouter

router = APIRouter(prefix="/feeds", include_in_schema=False)
