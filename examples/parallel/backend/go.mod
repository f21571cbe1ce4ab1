module example.com/slipway-parallel

go 1.19
