"""Incident fixtures (the personas are in tests/conftest.py): ``incident`` opened by the
Support agent; uploads go to a temporary imports folder."""

from __future__ import annotations

import pytest

from frontdesk.incidents.services import incident_create


@pytest.fixture(autouse=True)
def _imports_dir(settings, tmp_path):
    settings.FRONTDESK_INCIDENT_IMPORTS_DIR = tmp_path / "incident-imports"


@pytest.fixture
def incident(agent):
    return incident_create(actor=agent, title="Card payments failing", severity="critical",
                           public_description="Some card payments are declined.")
