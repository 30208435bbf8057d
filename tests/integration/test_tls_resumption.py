"""Session resumption as openssl s_client sees it, on the STARTTLS and the implicit-TLS port: a TLS 1.3 handshake,
full or resumed, is followed by exactly one NewSessionTicket (a client keeps one session per server), the ticket
resumes the next connection, and a TLS 1.2 session resumes too; the daemon's tls_resumed counts each resumption
exactly. Traffic goes to 127.0.0.1 only."""
import os

from test_tls import scraped
from tlsutil import TlsTest, s_client


class TestTickets(TlsTest):
    def handshake(self, port: int, starttls: bool, version: str, session: str, save: bool) -> tuple[str, int]:
        """One s_client session (EHLO, QUIT); returns 'New' or 'Reused' and how many tickets it received."""
        flag = '-sess_out' if save else '-sess_in'
        rc, out, err = s_client(port, f'-tls{version}', '-msg', flag, session, starttls=starttls)
        self.assertEqual(rc, 0, out + err)
        self.assertIn('221 ', out)
        kind = 'Reused' if '\nReused, ' in out else 'New' if '\nNew, ' in out else '?'
        return kind, out.count('NewSessionTicket')

    def test_one_ticket_per_handshake_and_each_session_resumes(self):
        d = self.start_tls()
        resumed = 0
        for port, starttls in ((d.port, True), (d.smtps_ports[0], False)):
            for version, tickets, resumed_tickets in (('1_3', 1, 1), ('1_2', 1, 0)):
                with self.subTest(port='starttls' if starttls else 'smtps', version=version):
                    session = os.path.join(self.tmp, f'{port}-{version}.pem')
                    self.assertEqual(self.handshake(port, starttls, version, session, True), ('New', tickets))
                    for _ in range(2):  # the first session resumes again, and again
                        self.assertEqual(self.handshake(port, starttls, version, session, False), ('Reused', resumed_tickets))
                        resumed += 1
                    self.assertEqual(scraped(d, 'tls_resumed_total'), resumed)
        t = self.stop(d)
        self.assertEqual((t['tls_handshakes'], t['tls_resumed'], t['tls_failed']), (12, 8, 0))
