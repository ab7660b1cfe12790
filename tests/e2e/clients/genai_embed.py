"""google-genai embed_content: embeds each text, twice over; prints one JSON line.

usage: genai_embed.py --model M [--dim N] [--one-per-call] [--gemini-api-base URL] TEXT...
--one-per-call sends one text per call (`:embedContent` models accept only one).
"""

import argparse

from _common import emit, genai_client


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--dim", type=int)
    p.add_argument("--one-per-call", action="store_true")
    p.add_argument("--gemini-api-base")
    p.add_argument("texts", nargs="+")
    a = p.parse_args()
    client = genai_client(a.gemini_api_base)
    config = {"output_dimensionality": a.dim} if a.dim else None

    def embed_all():
        batches = [[t] for t in a.texts] if a.one_per_call else [a.texts]
        vectors = []
        for batch in batches:
            r = client.models.embed_content(model=a.model, contents=batch, config=config)
            vectors += [e.values for e in r.embeddings]
        return vectors

    emit({"model": a.model, "vectors": embed_all(), "again": embed_all()})


if __name__ == "__main__":
    main()
