"""A batch over documents: submit one task per document with ``hub.submit_many``."""

from __future__ import annotations

from taskhub import TaskContext, task


@task(name="documents.process", timeout_s=120, retries=3, retry_delay_s=2.0)
def process(ctx: TaskContext, document_id: str, text: str = "") -> dict[str, object]:
    """Process one document: count its words."""
    words = text.split()
    for index in range(0, len(words), 1000):
        ctx.checkpoint()  # a cancel lands here, between chunks
        ctx.progress(100 * index / max(len(words), 1))
    return {"document_id": document_id, "words": len(words)}
