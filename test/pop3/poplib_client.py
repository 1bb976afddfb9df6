"""Drives our POP3 server with Python's poplib, as a real client would, and prints JSON.

usage: poplib_client.py TLS_PORT PLAIN_PORT USER PASSWORD
- POP3_SSL on the implicit-TLS port: CAPA, STAT, LIST, UIDL, RETR of every message, TOP,
  DELE 1, QUIT (UPDATE applies the deletion).
- POP3 + stls() on the plain port: USER/PASS after TLS, STAT, UIDL, QUIT.
The daemon's certificate is self-signed: the test uses an unverified context on purpose.
"""
import base64
import json
import poplib
import ssl
import sys

tls_port, plain_port, user, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

out = {}
p = poplib.POP3_SSL('127.0.0.1', tls_port, context=ctx, timeout=30)
out['welcome'] = p.getwelcome().decode()
out['capa'] = {k: v for k, v in p.capa().items()}
p.user(user)
p.pass_(password)
count, size = p.stat()
out['stat'] = [count, size]
out['list'] = [l.decode() for l in p.list()[1]]
out['uidl'] = [l.decode() for l in p.uidl()[1]]
# poplib returns lines without CRLF and already un-stuffed; rejoin with LF as stored.
out['messages'] = [base64.b64encode(b'\n'.join(p.retr(i)[1]) + b'\n').decode() for i in range(1, count + 1)]
out['top'] = [l.decode('latin1') for l in p.top(1, 0)[1]]
try:
    p.retr(count + 1)
    out['retr_out_of_range'] = 'accepted'
except poplib.error_proto as e:
    out['retr_out_of_range'] = e.args[0].decode()
out['dele'] = p.dele(1).decode()
out['quit'] = p.quit().decode()

q = poplib.POP3('127.0.0.1', plain_port, timeout=30)
out['stls'] = q.stls(context=ctx).decode()
out['stls_capa'] = sorted(q.capa().keys())
q.user(user)
q.pass_(password)
out['stat_after'] = list(q.stat())
out['uidl_after'] = [l.decode() for l in q.uidl()[1]]
out['quit_after'] = q.quit().decode()
print(json.dumps(out))
