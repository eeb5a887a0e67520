import CRdKafka
import CLibPQ
import CMsgPack
import CAvro
#if canImport(Glibc)
import Glibc
#endif

public enum PGK {
    public static func main() {
        print(String(cString: rd_kafka_version_str()), PQlibVersion())
        exit(0)
    }
}
