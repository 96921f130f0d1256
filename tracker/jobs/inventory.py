"""Use cases of the inventory: import it (planned, then applied in one transaction), assess it against the catalog."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from tracker.config import Config
from tracker.domain.advisories import for_exposure
from tracker.domain.exposure import Assessor, Exposure
from tracker.domain.exposure import Policy as ExposurePolicy
from tracker.domain.inventory import ImportPlan, ImportResult, plan_import
from tracker.reference import lifecycles
from tracker.store import repo
from tracker.store.advisories import load_advisories
from tracker.store.assets import apply_plan, load_assets
from tracker.store.db import session_scope
from tracker.upgrade_order import vcenter_first


@dataclass(frozen=True)
class ImportMode:
    replace: bool = False  # assets absent from the file are removed
    dry_run: bool = False  # planned and shown, nothing written


def import_inventory(
    engine: Engine, result: ImportResult, origin: str, now: datetime, mode: ImportMode = ImportMode()
) -> ImportPlan:
    """Plan an import against the stored assets and, unless a dry run, apply it in one transaction.
    The caller has checked `result.ok`: an import with problems is never applied."""
    with session_scope(engine) as session:
        plan = plan_import(load_assets(session), list(result.assets), mode.replace, origin)
        if not mode.dry_run:
            apply_plan(session, plan, now)
    return plan


def assess_exposure(config: Config, engine: Engine, now: datetime) -> list[Exposure]:
    """Every asset against the catalog, worst first."""

    with session_scope(engine) as session:
        catalog = repo.load_catalog(session)
        assets = load_assets(session)
        advisories = for_exposure(load_advisories(session).values(), catalog)
    policy = ExposurePolicy(cooldown_days=config.policy.cooldown_days)
    assessor = Assessor(
        catalog,
        now,
        advisories=advisories,
        lifecycles=lifecycles(),
        policy=policy,
        upgrade_order=vcenter_first(),
        vcenters=assets,
    )
    return assessor.assess_all(assets)
