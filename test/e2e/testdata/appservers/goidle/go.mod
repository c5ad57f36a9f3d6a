module goidle

go 1.24
