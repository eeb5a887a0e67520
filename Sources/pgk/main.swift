import PGKCore

PGK.main()
