# Raw-socket capture server: saves each request's bytes exactly, answers 200 {}.
import socket, sys, os
out = sys.argv[1]; names = sys.argv[2:]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', 18081)); s.listen(5)
for name in names:
    c, _ = s.accept()
    data = b''
    while b'\r\n\r\n' not in data:
        data += c.recv(65536)
    head, _, body = data.partition(b'\r\n\r\n')
    n = 0
    for line in head.split(b'\r\n'):
        if line.lower().startswith(b'content-length:'):
            n = int(line.split(b':')[1])
    while len(body) < n:
        body += c.recv(65536)
    open(os.path.join(out, name), 'wb').write(head + b'\r\n\r\n' + body)
    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}')
    c.close()
