"""An SMTP server for tenantry's mailer tests (tests/mail.rs), started by .ci/run.

It offers STARTTLS with the given certificate and requires it before AUTH, accepts one
user and password, and writes every message it receives, as received, to a file in the
mail directory. Usage:

    python3 .ci/smtp_server.py PORT CERT KEY MAILDIR USER PASSWORD
"""

import asyncio
import os
import ssl
import sys
import uuid

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    def __init__(self, maildir):
        self.maildir = maildir

    async def handle_DATA(self, server, session, envelope):
        name = os.path.join(self.maildir, uuid.uuid4().hex)
        with open(name + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(name + ".tmp", name + ".eml")
        return "250 OK"


def main():
    port, cert, key, maildir, user, password = sys.argv[1:7]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        # handled=False: the server answers 535 itself when the login fails.
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        Store(maildir),
        hostname="127.0.0.1",
        port=int(port),
        server_hostname="localhost",
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    print(f"listening on 127.0.0.1:{port}", flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
