from client.models.error_envelope import ErrorEnvelope


def code(e: ErrorEnvelope) -> str:
    return e.error.code
