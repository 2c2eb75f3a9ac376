"""A SOAP 1.2 endpoint that answers ONVIF PTZ GetStatus and Media GetProfiles, checked
against the official ONVIF schemas.

NOT a camera: no real ONVIF camera or vendor emulator runs here. It is the strictest peer
available: every request body the client sends and every response it returns is validated
with lxml against the XML Schema embedded in the official ``ptz.wsdl`` / ``media.wsdl``
(with ``onvif.xsd`` and its imports), the files shipped by ``onvif-zeep-async``; the
WS-Security UsernameToken password digest is verified as ONVIF cameras do
(Base64(SHA-1(nonce + created + password))). Anything that does not validate is a test
failure, not a lenient answer.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lxml import etree

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
TPTZ = "http://www.onvif.org/ver20/ptz/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
TT = "http://www.onvif.org/ver10/schema"


def _wsdl_dir() -> Path:
    import onvif

    return Path(onvif.__file__).parent / "wsdl"


def wsdl_schema(name: str) -> etree.XMLSchema:
    """The XML Schema embedded in an official ONVIF WSDL (imports resolved next to it)."""
    path = _wsdl_dir() / name
    schema = etree.parse(str(path)).find(".//{http://www.w3.org/2001/XMLSchema}schema")
    return etree.XMLSchema(etree.fromstring(etree.tostring(schema), base_url=str(path)))


class OnvifPeer:
    """Serve on 127.0.0.1 (a port of ``ports``) until :meth:`close`."""

    def __init__(self, *, ports: range, username: str, password: str, pan: float, tilt: float,
                 space: str | None, zoom: float = 0.0, moving: bool = False, token: str = "profile_1"):
        self.username, self.password, self.token = username, password, token
        self.pan, self.tilt, self.space, self.zoom, self.moving = pan, tilt, space, zoom, moving
        self.ptz_schema, self.media_schema = wsdl_schema("ptz.wsdl"), wsdl_schema("media.wsdl")
        self.requests: list[str] = []  # operation names, in order
        self.rejected: list[str] = []  # why a request was refused
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, reply = peer.handle(self.path, body)
                data = reply.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        for port in ports:
            try:
                self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
                break
            except OSError:
                continue
        else:
            raise RuntimeError(f"no free port in {ports}")
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def ptz_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/onvif/ptz_service"

    @property
    def media_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/onvif/media_service"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------ SOAP
    def _fault(self, code: str, sub: str, text: str) -> tuple[int, str]:
        self.rejected.append(f"{sub}: {text}")
        return 400, (f'<s:Envelope xmlns:s="{SOAP12}" xmlns:ter="http://www.onvif.org/ver10/error"><s:Body>'
                     f"<s:Fault><s:Code><s:Value>s:{code}</s:Value><s:Subcode><s:Value>{sub}</s:Value>"
                     f"</s:Subcode></s:Code><s:Reason><s:Text xml:lang=\"en\">{text}</s:Text></s:Reason>"
                     "</s:Fault></s:Body></s:Envelope>")

    def _authorised(self, env: etree._Element) -> bool:
        tok = env.find(f"{{{SOAP12}}}Header/{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
        if tok is None:
            return False
        user = tok.findtext(f"{{{WSSE}}}Username")
        pw = tok.find(f"{{{WSSE}}}Password")
        nonce = tok.findtext(f"{{{WSSE}}}Nonce")
        created = tok.findtext(f"{{{WSU}}}Created")
        if user != self.username or pw is None or not nonce or not created:
            return False
        if not (pw.get("Type") or "").endswith("#PasswordDigest"):
            return False
        want = base64.b64encode(hashlib.sha1(base64.b64decode(nonce) + created.encode()
                                             + self.password.encode()).digest()).decode()
        return pw.text == want

    def handle(self, path: str, body: bytes) -> tuple[int, str]:
        try:
            env = etree.fromstring(body)
        except etree.XMLSyntaxError as exc:
            return self._fault("Sender", "ter:WellFormed", f"not XML: {exc}")
        if env.tag != f"{{{SOAP12}}}Envelope":
            return self._fault("VersionMismatch", "ter:WrongSOAPVersion", f"root is {env.tag}")
        if not self._authorised(env):
            return self._fault("Sender", "ter:NotAuthorized", "bad or missing WS-Security digest")
        op = env.find(f"{{{SOAP12}}}Body/*")
        if op is None:
            return self._fault("Sender", "ter:InvalidArgVal", "empty body")
        schema = self.ptz_schema if path.endswith("ptz_service") else self.media_schema
        req = etree.ElementTree(etree.fromstring(etree.tostring(op)))
        if not schema.validate(req):
            return self._fault("Sender", "ter:InvalidArgVal", f"request not schema-valid: {schema.error_log.last_error}")
        name = etree.QName(op).localname
        self.requests.append(name)
        if path.endswith("ptz_service") and name == "GetStatus":
            if op.findtext(f"{{{TPTZ}}}ProfileToken") != self.token:
                return self._fault("Sender", "ter:NoProfile", "no such profile")
            reply = self._status()
        elif path.endswith("media_service") and name == "GetProfiles":
            reply = self._profiles()
        else:
            return self._fault("Receiver", "ter:ActionNotSupported", name)
        out = etree.fromstring(reply)
        if not schema.validate(etree.ElementTree(out)):  # the peer itself must be conformant
            raise AssertionError(f"peer reply not schema-valid: {schema.error_log.last_error}")
        return 200, (f'<s:Envelope xmlns:s="{SOAP12}"><s:Body>{reply}</s:Body></s:Envelope>')

    def _status(self) -> str:
        space = f' space="{self.space}"' if self.space else ""
        move = "MOVING" if self.moving else "IDLE"
        return (f'<tptz:GetStatusResponse xmlns:tptz="{TPTZ}" xmlns:tt="{TT}"><tptz:PTZStatus>'
                f'<tt:Position><tt:PanTilt x="{self.pan}" y="{self.tilt}"{space}/><tt:Zoom x="{self.zoom}"/>'
                f"</tt:Position><tt:MoveStatus><tt:PanTilt>{move}</tt:PanTilt><tt:Zoom>IDLE</tt:Zoom>"
                f"</tt:MoveStatus><tt:UtcTime>2026-11-28T21:00:00Z</tt:UtcTime></tptz:PTZStatus>"
                f"</tptz:GetStatusResponse>")

    def _profiles(self) -> str:
        return (f'<trt:GetProfilesResponse xmlns:trt="{TRT}" xmlns:tt="{TT}">'
                f'<trt:Profiles token="profile_0" fixed="true"><tt:Name>fixed</tt:Name></trt:Profiles>'
                f'<trt:Profiles token="{self.token}" fixed="true"><tt:Name>main</tt:Name>'
                f'<tt:PTZConfiguration token="ptz_0"><tt:Name>ptz</tt:Name><tt:UseCount>1</tt:UseCount>'
                f"<tt:NodeToken>node_0</tt:NodeToken></tt:PTZConfiguration></trt:Profiles>"
                f"</trt:GetProfilesResponse>")
