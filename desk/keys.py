"""Typed keys of the objects desk keeps on its aiohttp application."""

from __future__ import annotations

from aiohttp import web

from desk.admin.service import AdminService
from desk.audit import AuditLog
from desk.auth import TokenSigner, UserRepository
from desk.city.profile import CityProfile
from desk.dispatch.classifier import Dispatcher
from desk.settings import Settings
from desk.tickets.service import TicketService

SETTINGS = web.AppKey("settings", Settings)
PROFILE = web.AppKey("profile", CityProfile)
CLASSIFIER = web.AppKey("classifier", Dispatcher)
TICKETS = web.AppKey("tickets", TicketService)
SIGNER = web.AppKey("signer", TokenSigner)
USERS = web.AppKey("users", UserRepository)
AUDIT = web.AppKey("audit", AuditLog)
ADMIN = web.AppKey("admin", AdminService)
