module sloppy

go 1.24
