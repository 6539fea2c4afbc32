"""The web application: server-rendered pages (Jinja2 + htmx) over the same use-cases as the
command line.

    app = create_app(settings)   # uvicorn opendvi.web:create_app --factory

Nothing is loaded at import time; ``create_app`` opens the database and builds the routes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from fastapi import FastAPI
    from fastapi.routing import APIRoute
    from starlette.routing import BaseRoute

    from opendvi.app import OpenDVI
    from opendvi.settings import Settings

__all__ = ["api_routes", "create_app"]

HERE = Path(__file__).parent


def create_app(settings: Settings | None = None, *, dvi: OpenDVI | None = None) -> FastAPI:
    from fastapi import Depends, FastAPI, HTTPException, Request
    from fastapi.exception_handlers import request_validation_exception_handler
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, RedirectResponse, Response
    from fastapi.staticfiles import StaticFiles

    from opendvi.app import OpenDVI
    from opendvi.core.roles import Permission
    from opendvi.errors import OpenDVIError
    from opendvi.settings import Settings
    from opendvi.web import api, pages
    from opendvi.web.headers import SecurityHeaders, policy_allowing
    from opendvi.web.inputs import no_nul
    from opendvi.web.security import guard, permits
    from opendvi.web.templating import error_page

    if dvi is None:
        dvi = OpenDVI.open(settings or Settings())
    settings = dvi.settings
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        # Pages are computed in Python, so a few threads at once serve more pages per second
        # than many contending for the interpreter (benchmarks/results/web.md).
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = settings.web_threads
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="OpenDVI",
        description="Post-mortem to ante-mortem matching, review and identification.",
        # The guard first: nothing of a request is read for one who may not send it.
        dependencies=[Depends(guard), Depends(no_nul)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.dvi = dvi
    app.state.secret_key = settings.resolved_secret_key()
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in [*pages.routers, *api.routers]:
        app.include_router(router)

    @app.get("/api/docs", include_in_schema=False)
    @permits(Permission.READ)
    def api_docs() -> Response:
        """The API's interactive description, served from this machine (works offline)."""
        from fastapi.openapi.docs import get_swagger_ui_html

        page = get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="OpenDVI API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/favicon.ico",
        )
        page.headers["content-security-policy"] = policy_allowing(bytes(page.body).decode())
        return page

    @app.get("/api/openapi.json", include_in_schema=False)
    @permits(Permission.READ)
    def openapi() -> JSONResponse:
        """The API's description, for signed-in users only."""
        return JSONResponse(app.openapi())

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code in (301, 302, 303, 307) and exc.headers:
            return RedirectResponse(exc.headers["Location"], status_code=exc.status_code)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return error_page(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return await request_validation_exception_handler(request, exc)
        fields = ", ".join(str(e["loc"][-1]) for e in exc.errors()) or "the request"
        return error_page(request, 422, f"{fields}: not a value this page can use")

    @app.exception_handler(OpenDVIError)
    async def domain_error(request: Request, exc: OpenDVIError) -> Response:
        if request.url.path.startswith("/api/"):
            body: dict[str, Any] = {"detail": str(exc)}
            if getattr(exc, "field", None):
                body["field"] = exc.field  # type: ignore[attr-defined]
            return JSONResponse(body, status_code=exc.http_status)
        return error_page(request, exc.http_status, str(exc))

    @app.get("/favicon.ico", include_in_schema=False)
    @permits(Permission.PUBLIC)
    def favicon() -> Response:
        return Response(status_code=204)

    return app


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every route with an endpoint, including those of included routers."""
    from fastapi.routing import APIRoute

    out: list[APIRoute] = []

    def walk(routes: Sequence[BaseRoute]) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                out.append(route)
            elif hasattr(route, "original_router"):
                walk(route.original_router.routes)

    walk(app.routes)
    return out
