"""The requester's pages: the public form (/new), the cabinet (/my), a request's conversation
(/r/{id}, also for a visitor holding its private link) and public articles (/help/{id})."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from web.ui import requester_cabinet, requester_filing, requester_request

routes: list[BaseRoute] = [
    Route("/new", requester_filing.new_request),
    Route("/new", requester_filing.file_request, methods=["POST"]),
    Route("/new/fields", requester_filing.category_fields),
    Route("/new/suggestions", requester_filing.suggestions),
    Route("/help/{article_id}", requester_filing.help_article),
    Route("/help/{article_id}/helped", requester_filing.article_helped, methods=["POST"]),
    Route("/my", requester_cabinet.cabinet),
    Route("/r/{ticket_id}", requester_request.request_page),
    Route("/r/{ticket_id}/earlier", requester_request.earlier_entries),
    Route("/r/{ticket_id}/message", requester_request.send_message, methods=["POST"]),
    Route("/r/{ticket_id}/information", requester_request.provide_information, methods=["POST"]),
    Route("/r/{ticket_id}/rating", requester_request.rate, methods=["POST"]),
    Route("/r/{ticket_id}/reopen", requester_request.reopen, methods=["POST"]),
]
