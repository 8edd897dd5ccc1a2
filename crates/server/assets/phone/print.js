// The printable ticket's "Print" button (no inline script: the pages' CSP forbids it).
document.getElementById('print')?.addEventListener('click', () => window.print());
