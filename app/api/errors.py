"""Errors as JSON `{code, message, details}` with the status of app/errors.py."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import HTTP_STATUS, AppError, ErrorCode, LimitExceeded, Unavailable
from app.retry import is_transient

__all__ = ["error_response", "install_error_handlers", "unexpected_error"]

log = logging.getLogger(__name__)

_STATUS_CODES = {status: code for code, status in reversed(list(HTTP_STATUS.items()))}


def error_response(error: AppError) -> JSONResponse:
    """The JSON response of an AppError (internal errors get a generic message)."""
    message = "Internal error" if error.code == ErrorCode.INTERNAL else error.message
    headers = {}
    if isinstance(error, LimitExceeded):
        headers["Retry-After"] = str(error.retry_after_s)
    return JSONResponse(
        {"code": error.code.value, "message": message, "details": error.details},
        status_code=error.http_status,
        headers=headers,
    )


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
    body = {"code": ErrorCode.BAD_REQUEST.value, "message": "Invalid request",
            "details": {"errors": errors}}
    return JSONResponse(body, status_code=400)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, ErrorCode.BAD_REQUEST if exc.status_code < 500
                             else ErrorCode.INTERNAL)
    return JSONResponse({"code": code.value, "message": str(exc.detail), "details": {}},
                        status_code=exc.status_code, headers=exc.headers)


def unexpected_error(exc: Exception) -> AppError:
    """What a client is told of an error no handler expected (never its text)."""
    if is_transient(exc):
        log.warning("a dependency is unavailable: %s", exc)
        return Unavailable()
    log.exception("unhandled error", exc_info=exc)
    return AppError("Internal error")


async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
    return error_response(unexpected_error(exc))


def install_error_handlers(app: FastAPI) -> None:
    """One handler per error family; every error body has the same shape."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)
