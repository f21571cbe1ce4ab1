'use strict';
const http = require('http');
const { handler } = require('./app');

const port = Number(process.env.PORT || 3000);
http.createServer(handler).listen(port, () => console.log(`listening on ${port}`));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
