fetch('/api/greeting').then((r) => r.text()).then((t) => { document.getElementById('greeting').textContent = t; });
